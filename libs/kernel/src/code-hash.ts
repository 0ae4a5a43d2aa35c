import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { build, type Loader, type Message, type Plugin, transform } from 'esbuild';

export interface CodeHash {
  /** sha256 over the sorted (path, fileHash) pairs of the import closure */
  hash: string;
  /** every local file in the closure; `path` is POSIX, relative to the project root */
  files: Array<{ path: string; hash: string }>;
}

export type CodeHashErrorCode = 'syntax-error' | 'unresolved-import' | 'code-hash-failed';

/** The source closure of a computation could not be read or parsed. */
export class CodeHashError extends Error {
  constructor(
    readonly code: CodeHashErrorCode,
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CodeHashError';
  }
}

interface CacheEntry {
  mtimeMs: number;
  size: number;
  hash: Promise<string>;
}

/**
 * Memoises the normalised hash of each file by (mtimeMs, size), so computations that share
 * modules normalise each one once per process. Stores promises so concurrent look-ups coalesce.
 */
export class CodeHashCache {
  private readonly entries = new Map<string, CacheEntry>();
  hits = 0;
  misses = 0;

  async fileHash(absPath: string, compute: () => Promise<string>): Promise<string> {
    const st = await fs.stat(absPath);
    const cached = this.entries.get(absPath);
    if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) {
      this.hits++;
      return cached.hash;
    }
    this.misses++;
    const hash = compute();
    this.entries.set(absPath, { mtimeMs: st.mtimeMs, size: st.size, hash });
    // A failed normalisation must not stick: the next call retries.
    hash.catch(() => {
      if (this.entries.get(absPath)?.hash === hash) this.entries.delete(absPath);
    });
    return hash;
  }
}

// Only local files make up a computation's code: npm packages and the @almanac/* aliases
// (which tsconfig paths would resolve to local lib files) stay external.
const externalNonRelative: Plugin = {
  name: 'almanac-external-non-relative',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.kind === 'entry-point' ? undefined : { path: args.path, external: true },
    );
  },
};

const LOADERS: Record<string, Loader> = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.tsx': 'tsx',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
  '.jsx': 'jsx',
  '.json': 'json',
};

function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

function locate(m: Message, fallbackFile: string): { file: string; where: string } {
  const loc = m.location;
  if (!loc) return { file: fallbackFile, where: fallbackFile };
  return { file: loc.file, where: `${loc.file}:${loc.line}:${loc.column + 1}` };
}

/** Comments and formatting do not count: the file is hashed after esbuild whitespace minification. */
async function normalisedHash(absPath: string, displayPath: string): Promise<string> {
  const loader = LOADERS[path.extname(absPath).toLowerCase()];
  const bytes = await fs.readFile(absPath);
  if (!loader) return sha256(bytes);
  try {
    const out = await transform(bytes.toString('utf8'), {
      loader,
      minifyWhitespace: true,
      legalComments: 'none',
      sourcefile: displayPath,
      logLevel: 'silent',
    });
    return sha256(out.code);
  } catch (e) {
    const errors = (e as { errors?: Message[] }).errors ?? [];
    const first = errors[0];
    const where = first?.location
      ? `${displayPath}:${first.location.line}:${first.location.column + 1}`
      : displayPath;
    throw new CodeHashError(
      'syntax-error',
      displayPath,
      `cannot hash ${where}: ${first?.text ?? (e as Error).message}`,
      { cause: e },
    );
  }
}

/**
 * Hash of a computation's source file and every local module in its static import closure,
 * normalised so comments and formatting do not count. Paths are relative to `projectRoot`, so
 * the hash is the same on every machine and checkout.
 */
export async function computeCodeHash(
  file: string,
  projectRoot: string,
  cache?: CodeHashCache,
): Promise<CodeHash> {
  const root = path.resolve(projectRoot);
  const entry = path.resolve(root, file);
  const entryDisplay = path.relative(root, entry).split(path.sep).join('/');
  let inputs: string[];
  try {
    const result = await build({
      entryPoints: [entry],
      absWorkingDir: root,
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'cjs',
      logLevel: 'silent',
      plugins: [externalNonRelative],
    });
    inputs = Object.keys(result.metafile.inputs);
  } catch (e) {
    const errors = (e as { errors?: Message[] }).errors ?? [];
    const first = errors[0];
    if (!first)
      throw new CodeHashError(
        'code-hash-failed',
        entryDisplay,
        `cannot hash ${entryDisplay}: ${(e as Error).message}`,
        { cause: e },
      );
    const { file: at, where } = locate(first, entryDisplay);
    const code: CodeHashErrorCode = /^Could not resolve/.test(first.text)
      ? 'unresolved-import'
      : 'syntax-error';
    throw new CodeHashError(code, at, `cannot hash ${entryDisplay}: ${where}: ${first.text}`, {
      cause: e,
    });
  }

  const files = await Promise.all(
    inputs.map(async (input) => {
      // metafile input keys are relative to absWorkingDir (the project root), POSIX-separated.
      const abs = path.resolve(root, input);
      const rel = path.relative(root, abs).split(path.sep).join('/');
      const compute = () => normalisedHash(abs, rel);
      const hash = cache ? await cache.fileHash(abs, compute) : await compute();
      return { path: rel, hash };
    }),
  );
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const h = createHash('sha256');
  for (const f of files) h.update(`${JSON.stringify(f.path)}:${f.hash}\n`);
  return { hash: h.digest('hex'), files };
}
