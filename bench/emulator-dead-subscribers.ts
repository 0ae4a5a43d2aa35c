// npm run bench:emulator-dead-subscribers [-- --dead N]: how the Pub/Sub emulator treats the stream
// of a subscriber that was SIGKILLed. N subscriber processes are started, each handles one message
// and is killed while idle; then one live subscriber receives 30 messages published 200 ms apart,
// and the delivery latency of each is printed. With real Pub/Sub a dead stream is ended, so every
// message goes to the live subscriber; the emulator keeps routing to the dead streams.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { PubSub } from '@google-cloud/pubsub';
import { createPubSubBus } from '@almanac/messaging';
import { emulatorEnv, startPubSubEmulator } from '@almanac/emulators';

const TOPIC = 'bench.topic';
const SUBSCRIPTION = 'bench.sub';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function child() {
  const bus = createPubSubBus(new PubSub({ projectId: 'bench' }));
  await bus.subscribe(TOPIC, SUBSCRIPTION, async (m) => {
    process.stdout.write(`handled ${m.data}\n`);
  });
}

async function main() {
  const { values } = parseArgs({ options: { dead: { type: 'string', default: '2' } } });
  const emulator = await startPubSubEmulator();
  Object.assign(process.env, emulatorEnv({ pubsub: emulator.host }));
  const pubsub = new PubSub({ projectId: 'bench' });
  const bus = createPubSubBus(pubsub);
  try {
    // creates the topic and the subscription
    await (
      await bus.subscribe(TOPIC, SUBSCRIPTION, () => Promise.reject(new Error('not yet')))
    ).close();
    for (let k = 1; k <= Number(values.dead); k++) {
      const proc = spawn(process.execPath, ['--import', 'tsx', __filename, '--child'], {
        env: process.env,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      proc.stdout.on('data', (b: Buffer) => (out += b.toString()));
      await sleep(3000);
      await bus.publish(TOPIC, [{ data: `warm-${k}` }]);
      while (!out.includes(`handled warm-${k}`)) await sleep(50);
      proc.kill('SIGKILL');
      process.stderr.write(`subscriber ${k} handled a message and was SIGKILLed\n`);
    }
    const sent = new Map<string, number>();
    const latencies: number[] = [];
    await bus.subscribe(TOPIC, SUBSCRIPTION, async (m) => {
      latencies.push(Date.now() - sent.get(m.data)!);
    });
    await sleep(2000);
    for (let i = 0; i < 30; i++) {
      sent.set(`m${i}`, Date.now());
      await bus.publish(TOPIC, [{ data: `m${i}` }]);
      await sleep(200);
    }
    await sleep(60_000);
    latencies.sort((a, b) => a - b);
    const late = latencies.filter((ms) => ms > 1000).length;
    process.stdout.write(
      `${values.dead} dead subscribers: ${latencies.length}/30 delivered within 60 s, ${late} of them more than 1 s late; latencies (ms): ${latencies.join(' ')}\n`,
    );
  } finally {
    await bus.close();
    await pubsub.close();
    await emulator.stop();
  }
}

if (process.argv.includes('--child')) void child();
else
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
