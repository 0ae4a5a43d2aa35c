import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';

/**
 * `.almanac/server.json`: where the `almanac serve` that holds a project listens. DuckDB lets one
 * process write a file, so while a server runs, the CLI's commands go through it (ADR 0015).
 */
const ServerRecordSchema = z.object({
  url: z.url(),
  pid: z.number().int().positive(),
  /** the machine of `pid`: a pid means nothing on another one */
  host: z.string(),
  startedAt: z.string(),
  /** a bearer token made at start, when the api has auth on; the file is readable by its owner only */
  token: z.string().optional(),
});

export type ServerRecord = z.infer<typeof ServerRecordSchema>;

/** Writes the record readable and writable by this user only (0600), in one rename. */
export function writeServerFile(file: string, record: ServerRecord): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

/** Removes the file if it is still this server's (`pid`). */
export function removeServerFile(file: string, pid: number): void {
  if (readServerFile(file)?.pid === pid) rmSync(file, { force: true });
}

function readServerFile(file: string): ServerRecord | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = ServerRecordSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * The server recorded in `file` if it may still run: recorded on this machine by a process that
 * exists. A stale file (the server was killed) or one of another machine is ignored.
 */
export function findLiveServer(file: string): ServerRecord | null {
  const record = readServerFile(file);
  if (!record || record.host !== hostname()) return null;
  try {
    process.kill(record.pid, 0);
    return record;
  } catch (e) {
    // EPERM: it exists, as another user
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? record : null;
  }
}
