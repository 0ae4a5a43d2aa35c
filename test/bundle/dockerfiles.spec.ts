import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../cluster/cluster';

// No container engine runs here, so the Dockerfiles are never built in tests. This reads their
// text: it checks what each stage says it copies and runs as, not what an engine would produce
// (production-bundle.e2e.spec.ts installs and runs the same bundles without Docker).
interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

function stagesOf(text: string): Stage[] {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [op, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: m![1], name: m![2], instructions: [] });
    } else stages.at(-1)!.instructions.push({ op: op.toUpperCase(), args });
  }
  return stages;
}

const IMAGES = ['scheduler', 'planner', 'executor', 'worker', 'api', 'migrate'] as const;
const dockerfile = (image: string) =>
  stagesOf(readFileSync(join(REPO_ROOT, 'infra', 'docker', `${image}.Dockerfile`), 'utf8'));
const dist = (image: string) => `/repo/dist/apps/${image}`;

describe.each(IMAGES)('infra/docker/%s.Dockerfile (its text)', (image) => {
  const stages = dockerfile(image);
  const runtime = stages.at(-1)!;
  const ops = (stage: Stage, op: string) =>
    stage.instructions.filter((i) => i.op === op).map((i) => i.args);

  it('is multi-stage: the workspace builds the bundle, a deps stage installs its production dependencies', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'deps', undefined]);
    const build = stages[0];
    expect(ops(build, 'RUN').join('\n')).toMatch(
      new RegExp(`npx nx run ${image === 'migrate' ? 'spanner-migrate' : `app-${image}`}:build`),
    );
    const deps = stages[1];
    expect(ops(deps, 'COPY')).toEqual([
      `--from=build ${dist(image)}/package.json ${dist(image)}/package-lock.json ./`,
    ]);
    expect(ops(deps, 'RUN').join('\n')).toContain('npm ci --omit=dev');
  });

  it('runs node main.js on node:20-slim as the non-root user node', () => {
    expect(runtime.from).toBe('node:20-slim');
    const ops = runtime.instructions.map((i) => i.op);
    expect(ops.filter((o) => o === 'USER')).toHaveLength(1);
    const user = runtime.instructions.find((i) => i.op === 'USER')!;
    expect(user.args).toBe('node');
    // nothing after USER runs as root again
    expect(ops.slice(ops.indexOf('USER')).filter((o) => o === 'RUN')).toEqual([]);
    expect(runtime.instructions.at(-1)).toEqual({ op: 'CMD', args: '["node", "main.js"]' });
  });

  it('copies into the runtime only the bundle, the production node_modules and the project', () => {
    expect(ops(runtime, 'RUN')).toEqual([]);
    const project =
      image === 'migrate'
        ? []
        : ['almanac.config.ts ./project/', 'computations/ ./project/computations/'];
    expect(ops(runtime, 'COPY')).toEqual([
      '--from=deps /app/node_modules ./node_modules',
      `--from=build ${dist(image)}/ ./`,
      ...project,
    ]);
  });
});
