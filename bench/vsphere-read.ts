/**
 * `npm run bench:vsphere`: one full inventory read (readInventory + mapping) against a large vcsim model.
 *
 * Default model: 2 vSphere datacenters x 2 clusters x 10 hosts = 40 hosts, 1,250 VMs per cluster pool = 5,000 VMs.
 * vcsim 0.24.2 ignores maxObjects, so the VM read is ONE response of roughly 45 MB of XML: this measures the
 * streaming path at its worst (real vCenter would send pages of `vmPageSize`).
 *
 * Prints wall time per round, SOAP calls, pages, objects, records, and this process's peak RSS (the simulator runs
 * in a child process and is not counted). Env: BENCH_DATACENTERS (2), BENCH_CLUSTERS (2), BENCH_HOSTS (10 per
 * cluster), BENCH_VMS (1250 per cluster pool), BENCH_ROUNDS (3). Run with NODE_OPTIONS=--expose-gc to collect
 * garbage between rounds, so heap_used_mb is the retained result and rounds do not inherit each other's garbage.
 */
import { machineInfo, writeSection } from './report';
import { VimClient } from '#shared/vsphere/client';
import { readInventory } from '#shared/vsphere/inventory';
import { startVcsim } from '../test/support/vcsim';

const DATACENTERS = intEnv('BENCH_DATACENTERS', 2);
const CLUSTERS = intEnv('BENCH_CLUSTERS', 2);
const HOSTS = intEnv('BENCH_HOSTS', 10);
const VMS = intEnv('BENCH_VMS', 1250);
const ROUNDS = intEnv('BENCH_ROUNDS', 3);

async function main(): Promise<void> {
  const rssBefore = process.memoryUsage().rss;
  const sim = await startVcsim({
    datacenters: DATACENTERS,
    clustersPerDatacenter: CLUSTERS,
    hostsPerCluster: HOSTS,
    standaloneHostsPerDatacenter: 0,
    vmsPerPool: VMS,
    startTimeoutMs: 300_000,
  });
  try {
    console.log(
      `vcsim: ${sim.counts.hosts} hosts, ${sim.counts.vms} VMs, ${sim.counts.datastores} datastores (model built in ${sim.counts.createMillis} ms)`,
    );
    const rows: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const client = new VimClient({
        endpoint: sim.url,
        allowHttp: true,
        username: sim.username,
        password: sim.password,
        timeoutMs: 300_000,
      });
      const started = performance.now();
      const inventory = await client.withSession((session) => readInventory(session));
      const wallMs = Math.round(performance.now() - started);
      const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
      // With --expose-gc: the heap that survives, i.e. the mapped records the sync would keep.
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      const heapMb = Math.round(process.memoryUsage().heapUsed / 1048576);
      console.log(
        JSON.stringify({
          round,
          wall_ms: wallMs,
          read_ms: inventory.stats.durationMs,
          soap_calls: client.stats.calls,
          pages: client.stats.pages,
          objects: client.stats.objects,
          servers: inventory.servers.length,
          vms: inventory.vms.length,
          storage_bays: inventory.storageBays.length,
          nics: inventory.networkConfigurations.length,
          skipped: inventory.skipped.length,
          peak_rss_mb: peakRssMb,
          [gcAvailable() ? 'retained_heap_mb' : 'heap_used_mb']: heapMb,
          rss_before_mb: Math.round(rssBefore / 1048576),
        }),
      );
      rows.push(
        `| ${round} | ${(wallMs / 1000).toFixed(2)} s | ${client.stats.calls} | ${client.stats.pages} | ${client.stats.objects} | ${inventory.servers.length} / ${inventory.vms.length} / ${inventory.storageBays.length} / ${inventory.networkConfigurations.length} | ${inventory.skipped.length} | ${peakRssMb} MB |`,
      );
    }
    const machine = machineInfo();
    writeSection(
      'bench:vsphere',
      `Run with \`npm run bench:vsphere\` (env BENCH_DATACENTERS, BENCH_CLUSTERS, BENCH_HOSTS, BENCH_VMS, BENCH_ROUNDS). One full inventory
read (our vim25 client + streaming decoder + mapping) of govmomi's simulator with ${sim.counts.hosts} hosts and ${sim.counts.vms} VMs; the
simulator never pages, so the VM read is one response of about 45 MB of XML: the streaming path at its worst. Peak RSS is this
process only (the simulator is a child process).

Machine: ${machine.nproc} cores (${machine.cpuModel}), ${machine.memory}, Node ${machine.node}; ${machine.date}.

| round | wall time | SOAP calls | pages | objects | servers / VMs / bays / NICs | skipped | peak RSS |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}
`,
    );
  } finally {
    await sim.stop();
  }
}

function gcAvailable(): boolean {
  return typeof (globalThis as { gc?: unknown }).gc === 'function';
}

function intEnv(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value >= 0 ? value : fallback;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
