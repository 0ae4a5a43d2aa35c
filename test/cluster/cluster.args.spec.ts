import { CLUSTER_USAGE, ClusterUsageError, parseClusterArgs, parseReplicas } from './cluster.args';

describe('npm run cluster -- --replicas', () => {
  it('reads SERVICE=N pairs; a service not named is left to the default', () => {
    expect(parseReplicas('executor=3,worker=3,planner=2,api=2')).toEqual({
      executor: 3,
      worker: 3,
      planner: 2,
      api: 2,
    });
    expect(parseReplicas(' scheduler = 1 , worker=12 ')).toEqual({ scheduler: 1, worker: 12 });
  });

  it.each([
    ['', '--replicas is empty: give SERVICE=N pairs'],
    ['executor=3,', '--replicas "executor=3," has an empty entry'],
    ['executor', '--replicas: "executor" is not SERVICE=N'],
    ['executors=3', '--replicas: unknown service "executors" in "executors=3"'],
    ['=3', '--replicas: unknown service "" in "=3"'],
    ['executor=0', '--replicas: the count in "executor=0" must be a positive integer'],
    ['executor=-1', '--replicas: the count in "executor=-1" must be a positive integer'],
    ['executor=1.5', '--replicas: the count in "executor=1.5" must be a positive integer'],
    ['executor=two', '--replicas: the count in "executor=two" must be a positive integer'],
    ['executor=', '--replicas: the count in "executor=" must be a positive integer'],
    [
      'executor=3,worker=1,executor=2',
      '--replicas: executor is given twice ("executor=3" and "executor=2")',
    ],
  ])('rejects %j naming the bad part', (spec, message) => {
    expect(() => parseReplicas(spec)).toThrow(ClusterUsageError);
    expect(() => parseReplicas(spec)).toThrow(message);
  });

  it('lists the services when one is unknown', () => {
    expect(() => parseReplicas('db=1')).toThrow(
      '(services: scheduler, planner, executor, worker, api)',
    );
  });
});

describe('npm run cluster command line', () => {
  it('without flags starts one process per service', () => {
    expect(parseClusterArgs([])).toEqual({ help: false, replicas: {} });
  });

  it('adds up several --replicas flags, in either form', () => {
    expect(parseClusterArgs(['--replicas', 'executor=3', '--replicas=worker=2'])).toEqual({
      help: false,
      replicas: { executor: 3, worker: 2 },
    });
  });

  it('--help and -h ask for the usage', () => {
    expect(parseClusterArgs(['--help'])).toEqual({ help: true });
    expect(parseClusterArgs(['-h', '--replicas', 'nonsense'])).toEqual({ help: true });
    expect(CLUSTER_USAGE).toMatch(/^usage: npm run cluster -- \[--replicas SERVICE=N/);
  });

  it.each([
    [['--replicas', 'executor=3', '--replicas', 'executor=2'], 'executor is given twice'],
    [['--replicas', 'executor=3', '--replicas', ''], '--replicas is empty'],
    [['--replicas'], "Option '--replicas <value>' argument missing"],
    [['--replica', 'executor=3'], "Unknown option '--replica'"],
    [['executor=3'], "Unexpected argument 'executor=3'"],
  ])('rejects %j', (argv, message) => {
    expect(() => parseClusterArgs(argv)).toThrow(ClusterUsageError);
    expect(() => parseClusterArgs(argv)).toThrow(message);
  });
});
