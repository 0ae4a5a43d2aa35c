import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const generate = (...args: string[]) =>
  spawnSync(
    process.execPath,
    [join(root, 'node_modules/tsx/dist/cli.mjs'), 'infra/gcp/generate.main.ts', ...args],
    {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') },
    },
  );

describe('npm run infra:generate', () => {
  it('given a project, a registry and a tag, when asked for kubernetes, then it prints one v1 List of the manifests, one image per service', () => {
    const out = generate(
      'kubernetes',
      '--project',
      'acme',
      '--registry',
      'reg.example/a',
      '--tag',
      '1',
    );
    expect(out.status).toBe(0);
    const list = JSON.parse(out.stdout) as { kind: string; items: { kind: string }[] };
    expect(list.kind).toBe('List');
    expect(list.items.filter((i) => i.kind === 'ScaledObject')).toHaveLength(5);
    const images = (out.stdout.match(/"image": "[^"]+"/g) ?? []).sort();
    expect(images).toEqual(
      ['api', 'executor', 'migrate', 'planner', 'scheduler', 'worker'].map(
        (s) => `"image": "reg.example/a/almanac-${s}:1"`,
      ),
    );
  });

  it('given no registry and no tag, then it exits 2 naming the missing options', () => {
    const out = generate('kubernetes', '--project', 'acme');
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('kubernetes needs --registry and --tag');
  });

  it('given --help, then it prints the usage', () => {
    const out = generate('--help');
    expect(out.status).toBe(0);
    expect(out.stdout).toContain(
      'npm run infra:generate -- kubernetes --project ID --registry REGISTRY --tag TAG',
    );
  });
});
