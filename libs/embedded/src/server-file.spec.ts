import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  findLiveServer,
  removeServerFile,
  writeServerFile,
  type ServerRecord,
} from './server-file';

describe('server.json: where the almanac serve of a project listens', () => {
  let dir: string;
  let file: string;
  const record = (over: Partial<ServerRecord> = {}): ServerRecord => ({
    url: 'http://127.0.0.1:8080',
    pid: process.pid,
    host: hostname(),
    startedAt: '2026-12-01T10:00:00.000Z',
    ...over,
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(tmpdir(), 'almanac-server-file-'));
    file = path.join(dir, 'server.json');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is written readable by its owner only, and found while its process lives', () => {
    writeServerFile(file, record({ token: 'secret' }));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(findLiveServer(file)).toEqual(record({ token: 'secret' }));
  });

  it('replacing a file of other permissions still leaves it 0600', () => {
    fs.writeFileSync(file, '{}', { mode: 0o644 });
    writeServerFile(file, record());
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('is ignored when its process is gone, of another machine, or not a server record', () => {
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    writeServerFile(file, record({ pid: gone }));
    expect(findLiveServer(file)).toBeNull();
    writeServerFile(file, record({ host: `not-${hostname()}` }));
    expect(findLiveServer(file)).toBeNull();
    fs.writeFileSync(file, '{"url": "nope"');
    expect(findLiveServer(file)).toBeNull();
    fs.rmSync(file);
    expect(findLiveServer(file)).toBeNull();
  });

  it('is removed only by the server it names', () => {
    writeServerFile(file, record({ pid: process.pid }));
    removeServerFile(file, process.pid + 1);
    expect(fs.existsSync(file)).toBe(true);
    removeServerFile(file, process.pid);
    expect(fs.existsSync(file)).toBe(false);
  });
});
