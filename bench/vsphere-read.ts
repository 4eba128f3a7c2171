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
    }
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
