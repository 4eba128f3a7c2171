/**
 * A small vim25 client for bulk inventory reads: service content, session, container views and the
 * PropertyCollector (RetrievePropertiesEx with paging). Nothing here reads one object per call.
 *
 * Session handling:
 * - `withSession(fn)` connects, runs `fn`, then destroys the views it created and logs out, whatever happened:
 *   abandoned sessions pile up on vCenter until their 30-minute idle timeout.
 * - A call that fails with NotAuthenticated (session expired or terminated) is retried once after a fresh Login.
 *   Views are session-scoped, so the client remembers how each view was made and recreates it on re-login; a
 *   retried RetrievePropertiesEx therefore reads through the new view. A paging token is session-scoped too and
 *   cannot be rescued: a session lost between pages fails the read (the next sync run starts over).
 */
import { log, describeError } from '#shared/log';
import { ManagedObjectNotFoundError, NotAuthenticatedError, VimNotConnectedError, VimProtocolError } from '#shared/vsphere/errors';
import { SoapTransport, type SoapTransportOptions } from '#shared/vsphere/soap';
import {
  child,
  decodeObjectContent,
  decodeValue,
  isVimData,
  MoRef,
  type ObjectContent,
  type VimData,
  type XmlFragment,
  type XmlNode,
  xml,
  xmlJoin,
} from '#shared/vsphere/xml';

export interface VimClientOptions extends SoapTransportOptions {
  username: string;
  password: string;
  /** Re-login once and retry a call that failed with NotAuthenticated. Default true. */
  reloginOnNotAuthenticated?: boolean;
}

/** What vCenter says about itself; `instanceUuid` identifies the vCenter in every record key. */
export interface VcenterAbout {
  instanceUuid: string;
  name: string;
  fullName: string;
  version: string;
  build: string;
  apiVersion: string;
  apiType: string;
}

export interface PropertySpec {
  type: string;
  pathSet?: readonly string[];
  all?: boolean;
}

export interface TraversalSpec {
  name: string;
  type: string;
  path: string;
  skip?: boolean;
}

export interface ObjectSpec {
  obj: MoRef | ContainerView;
  skip?: boolean;
  selectSet?: readonly TraversalSpec[];
}

export interface PropertyFilterSpec {
  propSet: readonly PropertySpec[];
  objectSet: readonly ObjectSpec[];
}

export interface RetrieveOptions<T> {
  /** Objects per page asked of the server (vCenter may return fewer). Default 500. */
  maxObjects?: number;
  /**
   * Turns each object into what the caller keeps, as soon as it is parsed; returning undefined drops it. The decoded
   * object is garbage right after, so memory follows the size of the mapped results, not of the XML.
   */
  map?: (object: ObjectContent) => T | undefined;
  timeoutMs?: number;
}

export interface VimClientStats {
  /** SOAP calls sent, including Login/Logout and retries. */
  calls: number;
  /** RetrievePropertiesEx and ContinueRetrievePropertiesEx responses. */
  pages: number;
  /** Objects parsed from those pages. */
  objects: number;
  relogins: number;
}

/** A ContainerView this client created. `ref` changes when the view is recreated after a re-login. */
export class ContainerView {
  constructor(
    public ref: MoRef,
    readonly types: readonly string[],
    readonly container: MoRef,
    readonly recursive: boolean,
  ) {}
}

/** The usual filter: every object in a container view (skipping the view itself), with these properties. */
export function viewFilterSpec(view: ContainerView, propSet: readonly PropertySpec[]): PropertyFilterSpec {
  return {
    propSet,
    objectSet: [{ obj: view, skip: true, selectSet: [{ name: 'traverseView', type: 'ContainerView', path: 'view', skip: false }] }],
  };
}

interface ServiceRefs {
  rootFolder: MoRef;
  propertyCollector: MoRef;
  viewManager: MoRef;
  sessionManager: MoRef;
}

interface RetrievedPage<T> {
  items: T[];
  token: string | undefined;
}

const DEFAULT_MAX_OBJECTS = 500;
const SERVICE_INSTANCE = new MoRef('ServiceInstance', 'ServiceInstance');

export class VimClient {
  readonly stats: VimClientStats = { calls: 0, pages: 0, objects: 0, relogins: 0 };
  private readonly transport: SoapTransport;
  private readonly views = new Set<ContainerView>();
  private refs: ServiceRefs | undefined;
  private aboutInfo: VcenterAbout | undefined;
  private loggedIn = false;

  constructor(private readonly options: VimClientOptions) {
    this.transport = new SoapTransport(options);
  }

  /** vCenter identity; available after `connect()`. */
  get about(): VcenterAbout {
    if (!this.aboutInfo) throw new VimNotConnectedError('not connected');
    return this.aboutInfo;
  }

  get rootFolder(): MoRef {
    return this.serviceRefs().rootFolder;
  }

  get connected(): boolean {
    return this.loggedIn;
  }

  /** RetrieveServiceContent then Login. Idempotent while connected. */
  async connect(): Promise<VcenterAbout> {
    if (this.loggedIn && this.aboutInfo) return this.aboutInfo;
    if (!this.refs) await this.retrieveServiceContent();
    await this.login();
    return this.about;
  }

  /** Logout. The session cookie is dropped even when the call fails (the session may already be gone). */
  async logout(): Promise<void> {
    if (!this.loggedIn || !this.refs) return;
    this.loggedIn = false;
    this.views.clear();
    try {
      await this.send('Logout', xml`<Logout xmlns="urn:vim25">${thisRef(this.refs.sessionManager)}</Logout>`);
    } finally {
      this.transport.clearSession();
    }
  }

  /** Connects, runs `fn`, and always destroys this client's views, logs out and closes sockets. */
  async withSession<T>(fn: (client: VimClient) => Promise<T>): Promise<T> {
    try {
      await this.connect();
    } catch (error) {
      this.transport.close();
      throw error;
    }
    try {
      return await fn(this);
    } finally {
      await this.disconnect();
    }
  }

  /** Best-effort cleanup: destroy views, Logout, close sockets. Never throws (it runs in finally blocks). */
  async disconnect(): Promise<void> {
    for (const view of [...this.views]) {
      try {
        await this.destroyView(view);
      } catch (error) {
        log.warn('vsphere: DestroyView failed', { endpoint: this.transport.url.host, ...describeError(error) });
      }
    }
    try {
      await this.logout();
    } catch (error) {
      log.warn('vsphere: Logout failed', { endpoint: this.transport.url.host, ...describeError(error) });
    }
    this.transport.close();
  }

  /** CreateContainerView on `container` (default: the root folder), recursive by default. */
  async createContainerView(types: readonly string[], options: { container?: MoRef; recursive?: boolean } = {}): Promise<ContainerView> {
    this.requireSession();
    const container = options.container ?? this.rootFolder;
    const recursive = options.recursive ?? true;
    const ref = await this.withRelogin(() => this.sendCreateContainerView(types, container, recursive));
    const view = new ContainerView(ref, types, container, recursive);
    this.views.add(view);
    return view;
  }

  /** DestroyView. A view that is already gone (dead session) counts as destroyed. */
  async destroyView(view: ContainerView): Promise<void> {
    if (!this.views.delete(view)) return;
    try {
      await this.send('DestroyView', xml`<DestroyView xmlns="urn:vim25">${thisRef(view.ref)}</DestroyView>`);
    } catch (error) {
      if (error instanceof ManagedObjectNotFoundError || error instanceof NotAuthenticatedError) return;
      throw error;
    }
  }

  /**
   * RetrievePropertiesEx, then ContinueRetrievePropertiesEx while the server returns a token; yields one array per
   * page. If the consumer stops early, the pending token is released with CancelRetrievePropertiesEx.
   */
  async *retrieve<T = ObjectContent>(
    specSet: readonly PropertyFilterSpec[],
    options: RetrieveOptions<T> = {},
  ): AsyncGenerator<T[], void, undefined> {
    this.requireSession();
    const maxObjects = options.maxObjects ?? DEFAULT_MAX_OBJECTS;
    if (!Number.isInteger(maxObjects) || maxObjects < 1) throw new RangeError('maxObjects must be a positive integer');
    // Without a map the caller gets the decoded objects themselves; T defaults to ObjectContent in that case.
    const map = options.map ?? ((object: ObjectContent) => object as unknown as T);
    const collector = this.serviceRefs().propertyCollector;

    const first = await this.withRelogin(() =>
      this.retrievePage(
        'RetrievePropertiesEx',
        () =>
          xml`<RetrievePropertiesEx xmlns="urn:vim25">${thisRef(collector)}${xmlJoin(specSet.map(filterSpecXml))}<options><maxObjects>${maxObjects}</maxObjects></options></RetrievePropertiesEx>`,
        map,
        options.timeoutMs,
      ),
    );
    let token = first.token;
    try {
      yield first.items;
      while (token !== undefined) {
        const current = token;
        // The token is spent once sent: a failure below must not try to cancel it.
        token = undefined;
        const page = await this.retrievePage(
          'ContinueRetrievePropertiesEx',
          () =>
            xml`<ContinueRetrievePropertiesEx xmlns="urn:vim25">${thisRef(collector)}<token>${current}</token></ContinueRetrievePropertiesEx>`,
          map,
          options.timeoutMs,
        );
        token = page.token;
        yield page.items;
      }
    } finally {
      if (token !== undefined) await this.cancelRetrieve(collector, token);
    }
  }

  /** Whether the current session is still valid (SessionManager.currentSession is set only for a live session). */
  async isSessionAlive(): Promise<boolean> {
    const sessionManager = this.serviceRefs().sessionManager;
    try {
      const page = await this.retrievePage(
        'RetrievePropertiesEx',
        () =>
          xml`<RetrievePropertiesEx xmlns="urn:vim25">${thisRef(this.serviceRefs().propertyCollector)}${filterSpecXml({
            propSet: [{ type: 'SessionManager', pathSet: ['currentSession'] }],
            objectSet: [{ obj: sessionManager }],
          })}<options/></RetrievePropertiesEx>`,
        (object) => object,
        undefined,
      );
      return page.items.some((object) => isVimData(object.props.currentSession));
    } catch (error) {
      if (error instanceof NotAuthenticatedError) return false;
      throw error;
    }
  }

  /* ---------------------------------------------------------------------------------------------------------- */

  private async retrieveServiceContent(): Promise<void> {
    const response = await this.send(
      'RetrieveServiceContent',
      xml`<RetrieveServiceContent xmlns="urn:vim25">${thisRef(SERVICE_INSTANCE)}</RetrieveServiceContent>`,
    );
    const returnval = child(response, 'returnval');
    const content = returnval ? decodeValue(returnval) : undefined;
    if (!isVimData(content)) throw new VimProtocolError('RetrieveServiceContent', 'no ServiceContent');
    const about = content.about;
    if (!isVimData(about)) throw new VimProtocolError('RetrieveServiceContent', 'no about info');
    this.refs = {
      rootFolder: requireRef(content, 'rootFolder'),
      propertyCollector: requireRef(content, 'propertyCollector'),
      viewManager: requireRef(content, 'viewManager'),
      sessionManager: requireRef(content, 'sessionManager'),
    };
    this.aboutInfo = {
      instanceUuid: requireText(about, 'instanceUuid'),
      name: optionalText(about, 'name'),
      fullName: optionalText(about, 'fullName'),
      version: optionalText(about, 'version'),
      build: optionalText(about, 'build'),
      apiVersion: requireText(about, 'apiVersion'),
      apiType: optionalText(about, 'apiType'),
    };
    // Speak the server's own API version so newer properties (e.g. systemInfo.serialNumber) are returned.
    if (/^\d+(\.\d+){0,3}$/.test(this.aboutInfo.apiVersion)) this.transport.apiVersion = this.aboutInfo.apiVersion;
  }

  private async login(): Promise<void> {
    const sessionManager = this.serviceRefs().sessionManager;
    await this.send(
      'Login',
      xml`<Login xmlns="urn:vim25">${thisRef(sessionManager)}<userName>${this.options.username}</userName><password>${this.options.password}</password></Login>`,
    );
    this.loggedIn = true;
  }

  private async relogin(): Promise<void> {
    this.stats.relogins++;
    this.loggedIn = false;
    this.transport.clearSession();
    await this.login();
    for (const view of this.views) {
      view.ref = await this.sendCreateContainerView(view.types, view.container, view.recursive);
    }
  }

  /**
   * Runs `attempt`; after NotAuthenticated, logs in again (recreating views) and runs it once more.
   * vcsim answers a call on a dead session's view with ManagedObjectNotFound for that view rather than
   * NotAuthenticated, so that case is checked against the session too.
   */
  private async withRelogin<R>(attempt: () => Promise<R>): Promise<R> {
    try {
      return await attempt();
    } catch (error) {
      if (this.options.reloginOnNotAuthenticated === false || !this.loggedIn) throw error;
      if (error instanceof NotAuthenticatedError) {
        await this.relogin();
      } else if (error instanceof ManagedObjectNotFoundError && this.ownsView(error.obj)) {
        if (await this.isSessionAlive()) throw error;
        await this.relogin();
      } else {
        throw error;
      }
      return attempt();
    }
  }

  private ownsView(ref: MoRef | undefined): boolean {
    if (!ref) return false;
    for (const view of this.views) if (view.ref.type === ref.type && view.ref.value === ref.value) return true;
    return false;
  }

  private async sendCreateContainerView(types: readonly string[], container: MoRef, recursive: boolean): Promise<MoRef> {
    const viewManager = this.serviceRefs().viewManager;
    const response = await this.send(
      'CreateContainerView',
      xml`<CreateContainerView xmlns="urn:vim25">${thisRef(viewManager)}<container type="${container.type}">${container.value}</container>${types.map((type) => xml`<type>${type}</type>`)}<recursive>${recursive}</recursive></CreateContainerView>`,
    );
    const returnval = child(response, 'returnval');
    const ref = returnval ? decodeValue(returnval) : undefined;
    if (!(ref instanceof MoRef)) throw new VimProtocolError('CreateContainerView', 'no view reference returned');
    return ref;
  }

  private async retrievePage<T>(
    method: 'RetrievePropertiesEx' | 'ContinueRetrievePropertiesEx',
    body: () => XmlFragment,
    map: (object: ObjectContent) => T | undefined,
    timeoutMs: number | undefined,
  ): Promise<RetrievedPage<T>> {
    const items: T[] = [];
    const response = await this.send(method, body(), {
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      stream: {
        path: ['returnval', 'objects'],
        onElement: (node) => {
          const object = decodeObjectContent(node);
          // vcsim reports a dead session per property instead of faulting the call; treat it as the fault.
          for (const path of object.missing) {
            if (object.missingFaults[path] === 'NotAuthenticated') {
              throw new NotAuthenticatedError(method, 'NotAuthenticated', `property ${path} of ${object.obj.toString()}`, {});
            }
          }
          this.stats.objects++;
          const mapped = map(object);
          if (mapped !== undefined) items.push(mapped);
        },
      },
    });
    this.stats.pages++;
    const returnval = child(response, 'returnval');
    const token = returnval ? child(returnval, 'token')?.text : undefined;
    return { items, token: token === '' ? undefined : token };
  }

  private async cancelRetrieve(collector: MoRef, token: string): Promise<void> {
    try {
      await this.send(
        'CancelRetrievePropertiesEx',
        xml`<CancelRetrievePropertiesEx xmlns="urn:vim25">${thisRef(collector)}<token>${token}</token></CancelRetrievePropertiesEx>`,
      );
    } catch (error) {
      // The server frees abandoned tokens with the session anyway; a failed cancel must not mask the real outcome.
      log.warn('vsphere: CancelRetrievePropertiesEx failed', { endpoint: this.transport.url.host, ...describeError(error) });
    }
  }

  private send(method: string, body: XmlFragment, options?: Parameters<SoapTransport['call']>[2]): Promise<XmlNode> {
    this.stats.calls++;
    return this.transport.call(method, body, options);
  }

  private serviceRefs(): ServiceRefs {
    if (!this.refs) throw new VimNotConnectedError('not connected: call connect() first');
    return this.refs;
  }

  private requireSession(): void {
    if (!this.loggedIn) throw new VimNotConnectedError('not logged in: call connect() first');
  }
}

function thisRef(ref: MoRef): XmlFragment {
  return xml`<_this type="${ref.type}">${ref.value}</_this>`;
}

function filterSpecXml(spec: PropertyFilterSpec): XmlFragment {
  const propSet = spec.propSet.map(
    (prop) =>
      xml`<propSet><type>${prop.type}</type><all>${prop.all ?? false}</all>${(prop.pathSet ?? []).map((path) => xml`<pathSet>${path}</pathSet>`)}</propSet>`,
  );
  const objectSet = spec.objectSet.map((object) => {
    const ref = object.obj instanceof ContainerView ? object.obj.ref : object.obj;
    const selectSet = (object.selectSet ?? []).map(
      (traversal) =>
        xml`<selectSet xsi:type="TraversalSpec"><name>${traversal.name}</name><type>${traversal.type}</type><path>${traversal.path}</path><skip>${traversal.skip ?? false}</skip></selectSet>`,
    );
    return xml`<objectSet><obj type="${ref.type}">${ref.value}</obj>${object.skip === undefined ? null : xml`<skip>${object.skip}</skip>`}${selectSet}</objectSet>`;
  });
  return xml`<specSet>${propSet}${objectSet}</specSet>`;
}

function requireRef(data: VimData, field: string): MoRef {
  const value = data[field];
  if (!(value instanceof MoRef)) throw new VimProtocolError('RetrieveServiceContent', `no ${field}`);
  return value;
}

function requireText(data: VimData, field: string): string {
  const value = data[field];
  if (typeof value !== 'string' || value === '') throw new VimProtocolError('RetrieveServiceContent', `no about.${field}`);
  return value;
}

function optionalText(data: VimData, field: string): string {
  const value = data[field];
  return typeof value === 'string' ? value : '';
}
