/**
 * govmomi's vCenter simulator (vcsim 0.24.2, built from Debian's Go source tree) for tests and benchmarks.
 *
 * `startVcsim(topology)` builds test/vcsim/main.go once into node_modules/.cache/vcsim/ (again only when main.go is
 * newer than the binary; a lock keeps parallel jest workers from building twice), starts it on 127.0.0.1 with a
 * random port and returns its URL, credentials, the model's own counts and `stop()`. The child also exits when its
 * stdin closes, so a killed test runner leaves nothing behind.
 *
 * `VcsimAdmin` holds a separate SOAP session for mutations (power, rename, migrate, create, destroy, guest IPs) and
 * waits for their tasks. These helpers are test-only on purpose: production code never mutates vCenter.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { SoapTransport } from '#shared/vsphere/soap';
import { asList, at, field, stringOf } from '#shared/vsphere/values';
import { child, decodeObjectContent, decodeValue, MoRef, type ObjectContent, type XmlFragment, xml } from '#shared/vsphere/xml';

const ROOT = resolve(__dirname, '..', '..');
const SOURCE = join(ROOT, 'test', 'vcsim', 'main.go');
const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'vcsim');
const BINARY = join(CACHE_DIR, 'vcsim');
const LOCK = join(CACHE_DIR, 'build.lock');
const BUILD_TIMEOUT_MS = 180_000;

export interface VcsimTopology {
  datacenters?: number;
  clustersPerDatacenter?: number;
  hostsPerCluster?: number;
  standaloneHostsPerDatacenter?: number;
  /** VMs per cluster root resource pool and per standalone host (vcsim's -vm). */
  vmsPerPool?: number;
  datastoresPerDatacenter?: number;
  portgroupsPerDatacenter?: number;
  /** Put the last N datacenters (and their host/vm/datastore/network sub-folders) inside folders. */
  datacentersInFolders?: number;
  username?: string;
  password?: string;
  /** Serve https with a throwaway CA; its PEM is returned as `caPem`. */
  tls?: boolean;
  startTimeoutMs?: number;
}

/** Entity counts reported by the simulator's model after creation (not read through the client under test). */
export interface VcsimCounts {
  datacenters: number;
  clusters: number;
  hosts: number;
  vms: number;
  datastores: number;
  portgroups: number;
  folders: number;
  resourcePools: number;
  vmNics: number;
  hostVnics: number;
  hostPnics: number;
  createMillis: number;
}

export interface Vcsim {
  /** SDK URL without credentials, e.g. http://127.0.0.1:41234/sdk. */
  url: string;
  username: string;
  password: string;
  caPem: string | undefined;
  counts: VcsimCounts;
  pid: number;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Path of a fresh simulator binary, building it if main.go changed. */
export async function buildVcsim(): Promise<string> {
  mkdirSync(CACHE_DIR, { recursive: true });
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  while (!isFresh()) {
    if (tryLock()) {
      try {
        if (!isFresh()) compile();
      } finally {
        rmSync(LOCK, { recursive: true, force: true });
      }
      break;
    }
    if (Date.now() > deadline) throw new Error('timed out waiting for another process to build vcsim');
    // Another worker is building; a lock older than the build timeout is left over from a crash.
    if (Date.now() - statSafe(LOCK) > BUILD_TIMEOUT_MS) rmSync(LOCK, { recursive: true, force: true });
    await sleep(250);
  }
  return BINARY;
}

function isFresh(): boolean {
  return existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs;
}

function tryLock(): boolean {
  try {
    mkdirSync(LOCK);
    return true;
  } catch {
    return false;
  }
}

function statSafe(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Date.now();
  }
}

function compile(): void {
  const temporary = `${BINARY}.${process.pid}.tmp`;
  execFileSync('go', ['build', '-o', temporary, SOURCE], {
    cwd: join(ROOT, 'test', 'vcsim'),
    env: {
      ...process.env,
      GO111MODULE: 'off',
      GOPATH: debianGoPath(),
      GOCACHE: process.env.GOCACHE ?? join(CACHE_DIR, 'go-build'),
      GOFLAGS: '',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: BUILD_TIMEOUT_MS,
  });
  // Rename is atomic: a concurrent reader sees the old binary or the new one, never half a file.
  renameSync(temporary, BINARY);
}

/** GOPATH holding Debian's govmomi source (golang-github-vmware-govmomi-dev). */
function debianGoPath(): string {
  try {
    const files = execFileSync('dpkg', ['-L', 'golang-github-vmware-govmomi-dev'], { encoding: 'utf8' });
    const match = files.split('\n').find((line) => line.endsWith('/src/github.com/vmware/govmomi'));
    if (match) return match.slice(0, -'/src/github.com/vmware/govmomi'.length);
  } catch {
    // Fall through to the usual location; `go build` reports a clear error if the package is missing.
  }
  return '/usr/share/gocode';
}

/** Builds (if needed) and starts a simulator. Call `stop()` in afterAll. */
export async function startVcsim(topology: VcsimTopology = {}): Promise<Vcsim> {
  const binary = await buildVcsim();
  const username = topology.username ?? 'vcsim-user';
  const password = topology.password ?? 'vcsim-pass';
  const caFile = topology.tls ? join(tmpdir(), `vcsim-ca-${process.pid}-${Date.now()}.pem`) : undefined;
  const args = [
    '-l',
    '127.0.0.1:0',
    '-watch-stdin',
    '-user',
    username,
    '-pass',
    password,
    '-dc',
    String(topology.datacenters ?? 1),
    '-cluster',
    String(topology.clustersPerDatacenter ?? 1),
    '-host',
    String(topology.hostsPerCluster ?? 3),
    '-standalone-host',
    String(topology.standaloneHostsPerDatacenter ?? 1),
    '-vm',
    String(topology.vmsPerPool ?? 2),
    '-ds',
    String(topology.datastoresPerDatacenter ?? 1),
    '-pg',
    String(topology.portgroupsPerDatacenter ?? 1),
    '-folder',
    String(topology.datacentersInFolders ?? 0),
    ...(caFile ? ['-tls', '-tls-ca-file', caFile] : []),
  ];
  const processHandle = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(processHandle);
  installExitHook();

  let stderr = '';
  processHandle.stderr?.setEncoding('utf8');
  processHandle.stderr?.on('data', (chunk: string) => {
    if (stderr.length < 16_384) stderr += chunk;
  });

  const lines = createInterface({ input: processHandle.stdout as NodeJS.ReadableStream });
  const ready = new Promise<{ url: string; counts: VcsimCounts }>((resolveReady, rejectReady) => {
    const received: string[] = [];
    const timer = setTimeout(() => rejectReady(new Error(`vcsim did not start in time: ${stderr}`)), topology.startTimeoutMs ?? 60_000);
    lines.on('line', (line) => {
      received.push(line);
      if (received.length === 2) {
        clearTimeout(timer);
        resolveReady({ url: received[0] ?? '', counts: JSON.parse(received[1] ?? '{}') as VcsimCounts });
      }
    });
    processHandle.once('exit', (code) => {
      clearTimeout(timer);
      rejectReady(new Error(`vcsim exited with ${code} before it was ready: ${stderr}`));
    });
  });

  let started: { url: string; counts: VcsimCounts };
  try {
    started = await ready;
  } catch (error) {
    processHandle.kill('SIGKILL');
    running.delete(processHandle);
    throw error;
  }
  const url = new URL(started.url);
  url.username = '';
  url.password = '';
  const caPem = caFile ? readFileSync(caFile, 'utf8') : undefined;
  if (caFile) rmSync(caFile, { force: true });

  return {
    url: url.toString(),
    username,
    password,
    caPem,
    counts: started.counts,
    pid: processHandle.pid ?? -1,
    stop: () => stopProcess(processHandle),
  };
}

async function stopProcess(processHandle: ChildProcess): Promise<void> {
  running.delete(processHandle);
  if (processHandle.exitCode !== null || processHandle.signalCode !== null) return;
  const exited = new Promise<void>((resolveExit) => processHandle.once('exit', () => resolveExit()));
  processHandle.kill('SIGTERM');
  const timer = setTimeout(() => processHandle.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: a plain kill is all that can be done here.
  process.once('exit', () => {
    for (const processHandle of running) processHandle.kill('SIGTERM');
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Mutations over SOAP (test-only)                                                                                */
/* ------------------------------------------------------------------------------------------------------------ */

export interface TaskOutcome {
  state: 'success' | 'error';
  /** The fault type when the task failed (e.g. InvalidPowerState). */
  faultType: string | undefined;
  result: ObjectContent['props'][string] | undefined;
}

export interface CreateVmSpec {
  name: string;
  /** vSphere datacenter name; its VM folder receives the VM. */
  datacenter: string;
  /** Host moref value; the VM goes into that host's compute resource pool. */
  host: string;
  datastore?: string;
  cpus?: number;
  memoryMB?: number;
}

/** An administrator session on the simulator for arranging test scenarios. */
export class VcsimAdmin {
  private readonly transport: SoapTransport;
  private loggedIn = false;

  constructor(
    private readonly sim: Pick<Vcsim, 'url' | 'username' | 'password' | 'caPem'>,
    private readonly timeoutMs = 30_000,
  ) {
    this.transport = new SoapTransport({
      endpoint: sim.url,
      allowHttp: true,
      ...(sim.caPem ? { caPem: sim.caPem } : {}),
      timeoutMs,
    });
  }

  async login(): Promise<void> {
    if (this.loggedIn) return;
    await this.transport.call(
      'Login',
      xml`<Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this><userName>${this.sim.username}</userName><password>${this.sim.password}</password></Login>`,
    );
    this.loggedIn = true;
  }

  async close(): Promise<void> {
    if (this.loggedIn) {
      await this.transport
        .call('Logout', xml`<Logout xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this></Logout>`)
        .catch(() => undefined);
    }
    this.loggedIn = false;
    this.transport.close();
  }

  /** Every object of the given types with the given properties (one container view, one bulk read). */
  async list(types: readonly string[], pathsByType: Record<string, readonly string[]>): Promise<ObjectContent[]> {
    await this.login();
    const response = await this.transport.call(
      'CreateContainerView',
      xml`<CreateContainerView xmlns="urn:vim25"><_this type="ViewManager">ViewManager</_this><container type="Folder">group-d1</container>${types.map((type) => xml`<type>${type}</type>`)}<recursive>true</recursive></CreateContainerView>`,
    );
    const view = decodeValue(child(response, 'returnval') ?? fail('no view'));
    if (!(view instanceof MoRef)) throw new Error('CreateContainerView returned no view');
    const objects: ObjectContent[] = [];
    try {
      const propSets = Object.entries(pathsByType).map(
        ([type, paths]) => xml`<propSet><type>${type}</type>${paths.map((path) => xml`<pathSet>${path}</pathSet>`)}</propSet>`,
      );
      await this.transport.call(
        'RetrievePropertiesEx',
        xml`<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet>${propSets}<objectSet><obj type="ContainerView">${view.value}</obj><skip>true</skip><selectSet xsi:type="TraversalSpec"><name>v</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet></objectSet></specSet><options/></RetrievePropertiesEx>`,
        { stream: { path: ['returnval', 'objects'], onElement: (node) => objects.push(decodeObjectContent(node)) } },
      );
    } finally {
      await this.transport.call(
        'DestroyView',
        xml`<DestroyView xmlns="urn:vim25"><_this type="ContainerView">${view.value}</_this></DestroyView>`,
      );
    }
    return objects;
  }

  /** Moref value of the first object of `type` named `name`. */
  async findByName(type: string, name: string): Promise<string> {
    const objects = await this.list([type], { [type]: ['name'] });
    const match = objects.find((object) => object.props.name === name);
    if (!match) throw new Error(`no ${type} named ${name}`);
    return match.obj.value;
  }

  powerOff(vm: string): Promise<TaskOutcome> {
    return this.runTask(
      'PowerOffVM_Task',
      xml`<PowerOffVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">${vm}</_this></PowerOffVM_Task>`,
    );
  }

  powerOn(vm: string): Promise<TaskOutcome> {
    return this.runTask(
      'PowerOnVM_Task',
      xml`<PowerOnVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">${vm}</_this></PowerOnVM_Task>`,
    );
  }

  suspend(vm: string): Promise<TaskOutcome> {
    return this.runTask(
      'SuspendVM_Task',
      xml`<SuspendVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">${vm}</_this></SuspendVM_Task>`,
    );
  }

  /** Destroy_Task. vcsim refuses a powered-on VM (InvalidPowerState), like vCenter. */
  destroy(vm: string): Promise<TaskOutcome> {
    return this.runTask('Destroy_Task', xml`<Destroy_Task xmlns="urn:vim25"><_this type="VirtualMachine">${vm}</_this></Destroy_Task>`);
  }

  rename(vm: string, newName: string): Promise<TaskOutcome> {
    return this.runTask(
      'Rename_Task',
      xml`<Rename_Task xmlns="urn:vim25"><_this type="VirtualMachine">${vm}</_this><newName>${newName}</newName></Rename_Task>`,
    );
  }

  /**
   * Moves a VM to another host with RelocateVM_Task (vcsim 0.24.2 has no MigrateVM_Task: MethodNotFound). vcsim
   * updates runtime.host but not the hosts' `vm` lists.
   */
  migrate(vm: string, host: string): Promise<TaskOutcome> {
    return this.runTask(
      'RelocateVM_Task',
      xml`<RelocateVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">${vm}</_this><spec><host type="HostSystem">${host}</host></spec></RelocateVM_Task>`,
    );
  }

  /** Sets guest.ipAddress and guest.net[0].ipAddress (vcsim's `SET.guest.*` extraConfig hook); optional hostname. */
  setGuestIp(vm: string, ip: string, hostname?: string): Promise<TaskOutcome> {
    const hostnameOption = hostname
      ? xml`<extraConfig><key>SET.guest.hostName</key><value xsi:type="xsd:string">${hostname}</value></extraConfig>`
      : null;
    return this.runTask(
      'ReconfigVM_Task',
      xml`<ReconfigVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">${vm}</_this><spec><extraConfig><key>SET.guest.ipAddress</key><value xsi:type="xsd:string">${ip}</value></extraConfig>${hostnameOption}</spec></ReconfigVM_Task>`,
    );
  }

  enterMaintenanceMode(host: string): Promise<TaskOutcome> {
    return this.runTask(
      'EnterMaintenanceMode_Task',
      xml`<EnterMaintenanceMode_Task xmlns="urn:vim25"><_this type="HostSystem">${host}</_this><timeout>0</timeout></EnterMaintenanceMode_Task>`,
    );
  }

  /** CreateVM_Task in the datacenter's VM folder, on `host`, in its compute resource's root pool. */
  async createVm(spec: CreateVmSpec): Promise<{ outcome: TaskOutcome; moref: string | undefined }> {
    await this.login();
    const datacenters = await this.list(['Datacenter'], { Datacenter: ['name', 'vmFolder'] });
    const datacenter = datacenters.find((object) => object.props.name === spec.datacenter) ?? fail(`no datacenter ${spec.datacenter}`);
    const folder = datacenter.props.vmFolder;
    if (!(folder instanceof MoRef)) throw new Error('datacenter without vmFolder');
    const hosts = await this.list(['HostSystem'], { HostSystem: ['parent'] });
    const hostParent = hosts.find((object) => object.obj.value === spec.host)?.props.parent;
    if (!(hostParent instanceof MoRef)) throw new Error(`no host ${spec.host}`);
    const computeResources = await this.list(['ComputeResource'], { ComputeResource: ['resourcePool'] });
    const pool = computeResources.find((object) => object.obj.value === hostParent.value)?.props.resourcePool;
    if (!(pool instanceof MoRef)) throw new Error('compute resource without resource pool');

    const outcome = await this.runTask(
      'CreateVM_Task',
      xml`<CreateVM_Task xmlns="urn:vim25"><_this type="Folder">${folder.value}</_this><config><name>${spec.name}</name><guestId>otherGuest</guestId><files><vmPathName>[${spec.datastore ?? 'LocalDS_0'}]</vmPathName></files><numCPUs>${spec.cpus ?? 1}</numCPUs><memoryMB>${spec.memoryMB ?? 64}</memoryMB></config><pool type="ResourcePool">${pool.value}</pool><host type="HostSystem">${spec.host}</host></CreateVM_Task>`,
    );
    return { outcome, moref: outcome.result instanceof MoRef ? outcome.result.value : undefined };
  }

  /** Ends every other session (as an administrator would, or vCenter on idle timeout). Returns how many. */
  async terminateOtherSessions(): Promise<number> {
    await this.login();
    const objects = await this.propertiesOf(new MoRef('SessionManager', 'SessionManager'), ['currentSession', 'sessionList']);
    const own = stringOf(at(objects.props.currentSession, 'key'));
    const others = asList(objects.props.sessionList)
      .map((session) => stringOf(field(session, 'key')))
      .filter((key): key is string => key !== undefined && key !== own);
    if (others.length === 0) return 0;
    await this.transport.call(
      'TerminateSession',
      xml`<TerminateSession xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this>${others.map((key) => xml`<sessionId>${key}</sessionId>`)}</TerminateSession>`,
    );
    return others.length;
  }

  /** Number of sessions vCenter currently holds (to check that clients log out). */
  async sessionCount(): Promise<number> {
    await this.login();
    const objects = await this.propertiesOf(new MoRef('SessionManager', 'SessionManager'), ['sessionList']);
    return asList(objects.props.sessionList).length;
  }

  /** Raw call for scenarios the helpers above do not cover. */
  call(method: string, body: XmlFragment) {
    return this.transport.call(method, body);
  }

  private async propertiesOf(ref: MoRef, paths: readonly string[]): Promise<ObjectContent> {
    const objects: ObjectContent[] = [];
    await this.transport.call(
      'RetrievePropertiesEx',
      xml`<RetrievePropertiesEx xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>${ref.type}</type>${paths.map((path) => xml`<pathSet>${path}</pathSet>`)}</propSet><objectSet><obj type="${ref.type}">${ref.value}</obj></objectSet></specSet><options/></RetrievePropertiesEx>`,
      { stream: { path: ['returnval', 'objects'], onElement: (node) => objects.push(decodeObjectContent(node)) } },
    );
    return objects[0] ?? fail(`no properties for ${ref.toString()}`);
  }

  /** Starts a *_Task method and polls Task.info until it leaves queued/running. */
  private async runTask(method: string, body: XmlFragment): Promise<TaskOutcome> {
    await this.login();
    const response = await this.transport.call(method, body);
    const task = decodeValue(child(response, 'returnval') ?? fail(`${method} returned no task`));
    if (!(task instanceof MoRef)) throw new Error(`${method} returned no task reference`);
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const info = await this.propertiesOf(task, ['info.state', 'info.error', 'info.result']);
      const state = info.props['info.state'];
      if (state === 'success' || state === 'error') {
        const error = info.props['info.error'];
        return {
          state,
          faultType: stringOf(field(field(error, 'fault'), '_type')),
          result: info.props['info.result'],
        };
      }
      if (Date.now() > deadline) throw new Error(`${method}: task ${task.value} still ${String(state)}`);
      await sleep(25);
    }
  }
}

function fail(message: string): never {
  throw new Error(message);
}
