import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { main } from '../../apps/cli/src/main';

const REPO = path.resolve(__dirname, '..', '..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process and captures what it writes (one call at a time: it spies on stdout). */
export async function cli(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
  const err = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** `node bin/almanac ...` as a child process, its output collected in `output()`. */
export function almanacProcess(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; output(): string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [path.join(REPO, 'bin', 'almanac'), ...args], {
    // no scheduler timer in `almanac serve`: a tick at the real time would request runs
    env: { ...process.env, ALMANAC_DEBUG: '', ALMANAC_TICK_INTERVAL_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (b) => (output += String(b)));
  child.stderr!.on('data', (b) => (output += String(b)));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => output, exited };
}

export async function waitFor<T>(
  what: () => string,
  ms: number,
  probe: () => T | null | Promise<T | null>,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
