import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { VimClient, viewFilterSpec } from '#shared/vsphere/client';
import {
  InvalidLoginError,
  InvalidPropertyError,
  ManagedObjectNotFoundError,
  MethodNotFoundError,
  NotAuthenticatedError,
  VimConfigurationError,
  VimFaultError,
  VimHttpError,
  VimProtocolError,
  VimTimeoutError,
  VimUnreachableError,
} from '#shared/vsphere/errors';
import { MoRef, type ObjectContent } from '#shared/vsphere/xml';
import {
  elementText,
  loginReply,
  pageReply,
  type SoapStub,
  STUB_VCENTER_UUID,
  type StubReply,
  type StubRequest,
  sessionPlumbing,
  soapBody,
  soapFault,
  startSoapStub,
  viewReply,
} from '../support/soap-stub';

let stub: SoapStub | undefined;

afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

async function stubWith(handler: (request: StubRequest) => StubReply | undefined): Promise<SoapStub> {
  stub = await startSoapStub((request) => handler(request) ?? sessionPlumbing(request) ?? soapFault('MethodNotFound', request.method));
  return stub;
}

function clientFor(server: SoapStub, overrides: Partial<ConstructorParameters<typeof VimClient>[0]> = {}): VimClient {
  return new VimClient({
    endpoint: server.url,
    allowHttp: true,
    username: 'svc-inventory',
    password: 'pw',
    timeoutMs: 5_000,
    ...overrides,
  });
}

/** A paging vCenter: 5 VMs in pages of 2 (tokens t1, t2). */
function pagingHandler(request: StubRequest): StubReply | undefined {
  if (request.method === 'RetrievePropertiesEx') return pageReply('RetrievePropertiesEx', ['vm-1', 'vm-2'], 't1');
  if (request.method === 'ContinueRetrievePropertiesEx') {
    const token = elementText(request.body, 'token');
    if (token === 't1') return pageReply('ContinueRetrievePropertiesEx', ['vm-3', 'vm-4'], 't2');
    if (token === 't2') return pageReply('ContinueRetrievePropertiesEx', ['vm-5']);
    return soapFault('InvalidArgument', 'unknown token');
  }
  return undefined;
}

async function vmView(client: VimClient) {
  const view = await client.createContainerView(['VirtualMachine']);
  return [viewFilterSpec(view, [{ type: 'VirtualMachine', pathSet: ['name'] }])];
}

describe('VimClient session', () => {
  it('connects: service content, Login with escaped credentials, cookie on later calls, server API version', async () => {
    const server = await stubWith(() => undefined);
    const client = clientFor(server, { password: 'p<&>"\'w' });
    const about = await client.connect();
    expect(about).toMatchObject({
      instanceUuid: STUB_VCENTER_UUID,
      version: '7.0.3',
      apiVersion: '7.0.3.0',
      fullName: 'VMware vCenter Server 7.0.3 build-21477706',
    });
    await client.createContainerView(['HostSystem']);
    await client.disconnect();

    expect(server.methods()).toEqual(['RetrieveServiceContent', 'Login', 'CreateContainerView', 'DestroyView', 'Logout']);
    const [content, login, view] = server.requests;
    expect(login?.body).toContain('<userName>svc-inventory</userName><password>p&lt;&amp;&gt;&quot;&apos;w</password>');
    expect(content?.headers.cookie).toBeUndefined();
    expect(view?.headers.cookie).toBe('vmware_soap_session="stub-session-1"');
    // After RetrieveServiceContent the client speaks the server's API version.
    expect(content?.headers.soapaction).toBe('"urn:vim25/6.5"');
    expect(view?.headers.soapaction).toBe('"urn:vim25/7.0.3.0"');
  });

  it('maps InvalidLogin to InvalidLoginError and closes without a session', async () => {
    const server = await stubWith((request) =>
      request.method === 'Login'
        ? soapFault('InvalidLogin', 'Cannot complete login due to an incorrect user name or password.')
        : undefined,
    );
    const client = clientFor(server);
    await expect(client.withSession(async () => 'never')).rejects.toBeInstanceOf(InvalidLoginError);
    expect(server.methods()).toEqual(['RetrieveServiceContent', 'Login']);
  });

  it('withSession destroys views and logs out when the work fails, and keeps the original error', async () => {
    const server = await stubWith(() => undefined);
    const client = clientFor(server);
    const failure = new Error('mapping exploded');
    await expect(
      client.withSession(async (session) => {
        await session.createContainerView(['VirtualMachine']);
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(server.methods().slice(-2)).toEqual(['DestroyView', 'Logout']);
  });

  it('refuses plain http unless allowed, before any network call', () => {
    expect(() => new VimClient({ endpoint: 'http://vcenter.example.test', username: 'u', password: 'p' })).toThrow(VimConfigurationError);
    expect(() => new VimClient({ endpoint: 'ftp://vcenter.example.test', username: 'u', password: 'p' })).toThrow(VimConfigurationError);
  });
});

describe('VimClient.retrieve paging', () => {
  it('follows tokens with ContinueRetrievePropertiesEx and yields every page', async () => {
    const server = await stubWith(pagingHandler);
    const client = clientFor(server);
    const pages = await client.withSession(async (session) => {
      const result: string[][] = [];
      for await (const page of session.retrieve(await vmView(session), { maxObjects: 2 }))
        result.push(page.map((object) => object.obj.value));
      return result;
    });

    expect(pages).toEqual([['vm-1', 'vm-2'], ['vm-3', 'vm-4'], ['vm-5']]);
    const reads = server.requests.filter((request) => request.method.includes('RetrievePropertiesEx'));
    expect(reads.map((request) => [request.method, elementText(request.body, 'token') ?? elementText(request.body, 'maxObjects')])).toEqual(
      [
        ['RetrievePropertiesEx', '2'],
        ['ContinueRetrievePropertiesEx', 't1'],
        ['ContinueRetrievePropertiesEx', 't2'],
      ],
    );
    expect(server.methods()).not.toContain('CancelRetrievePropertiesEx');
    expect(client.stats).toMatchObject({ pages: 3, objects: 5 });
    // The request carries the view traversal.
    expect(reads[0]?.body).toContain(
      '<objectSet><obj type="ContainerView">session[stub]view-1</obj><skip>true</skip><selectSet xsi:type="TraversalSpec"><name>traverseView</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet></objectSet>',
    );
  });

  it.each([
    [1, 't1'],
    [2, 't2'],
  ])('cancels the pending token when the consumer stops after %i page(s)', async (stopAfter, pendingToken) => {
    const server = await stubWith(pagingHandler);
    const client = clientFor(server);
    await client.withSession(async (session) => {
      let seen = 0;
      for await (const _page of session.retrieve(await vmView(session), { maxObjects: 2 })) {
        seen++;
        if (seen === stopAfter) break;
      }
    });
    const cancels = server.requests.filter((request) => request.method === 'CancelRetrievePropertiesEx');
    expect(cancels.map((request) => elementText(request.body, 'token'))).toEqual([pendingToken]);
    expect(server.methods().filter((method) => method === 'ContinueRetrievePropertiesEx')).toHaveLength(stopAfter - 1);
    expect(server.methods().at(-1)).toBe('Logout');
  });

  it('applies map per object and drops undefined results', async () => {
    const server = await stubWith(pagingHandler);
    const client = clientFor(server);
    const names = await client.withSession(async (session) => {
      const result: string[] = [];
      const pages = session.retrieve(await vmView(session), {
        maxObjects: 2,
        map: (object: ObjectContent) => (object.obj.value === 'vm-3' ? undefined : String(object.props.name)),
      });
      for await (const page of pages) result.push(...page);
      return result;
    });
    expect(names).toEqual(['vm-1', 'vm-2', 'vm-4', 'vm-5']);
  });

  it('passes an error thrown by map through unchanged', async () => {
    const server = await stubWith(pagingHandler);
    const client = clientFor(server);
    const failure = new Error('bad object');
    await expect(
      client.withSession(async (session) => {
        for await (const _page of session.retrieve(await vmView(session), {
          map: () => {
            throw failure;
          },
        })) {
          // consume
        }
      }),
    ).rejects.toBe(failure);
  });

  it('handles an empty result (no returnval)', async () => {
    const server = await stubWith((request) =>
      request.method === 'RetrievePropertiesEx' ? { body: soapBody('<RetrievePropertiesExResponse xmlns="urn:vim25"/>') } : undefined,
    );
    const client = clientFor(server);
    const pages = await client.withSession(async (session) => {
      const result: ObjectContent[][] = [];
      for await (const page of session.retrieve(await vmView(session))) result.push(page);
      return result;
    });
    expect(pages).toEqual([[]]);
  });

  it('reads gzip-compressed responses', async () => {
    const server = await stubWith((request) => {
      if (request.method !== 'RetrievePropertiesEx') return undefined;
      expect(request.headers['accept-encoding']).toContain('gzip');
      const page = pageReply('RetrievePropertiesEx', ['vm-1']);
      return typeof page === 'object' && 'body' in page ? { ...page, gzip: true } : page;
    });
    const client = clientFor(server);
    const pages = await client.withSession(async (session) => {
      const result: string[] = [];
      for await (const page of session.retrieve(await vmView(session))) result.push(...page.map((object) => object.obj.value));
      return result;
    });
    expect(pages).toEqual(['vm-1']);
  });
});

describe('VimClient re-login', () => {
  it('logs in again once after NotAuthenticated, recreates its views and retries through the new view', async () => {
    let sessions = 0;
    let failedOnce = false;
    const server = await stubWith((request) => {
      if (request.method === 'Login') {
        sessions++;
        return loginReply(`session-${sessions}`);
      }
      if (request.method === 'CreateContainerView') return viewReply(`session[${sessions}]view`);
      if (request.method === 'RetrievePropertiesEx') {
        if (!failedOnce) {
          failedOnce = true;
          return soapFault('NotAuthenticated', '', '<object type="ViewManager">ViewManager</object><privilegeId>System.View</privilegeId>');
        }
        return pageReply('RetrievePropertiesEx', ['vm-1']);
      }
      return undefined;
    });
    const client = clientFor(server);
    const pages = await client.withSession(async (session) => {
      const result: string[] = [];
      for await (const page of session.retrieve(await vmView(session))) result.push(...page.map((object) => object.obj.value));
      return result;
    });

    expect(pages).toEqual(['vm-1']);
    expect(client.stats.relogins).toBe(1);
    expect(server.methods()).toEqual([
      'RetrieveServiceContent',
      'Login',
      'CreateContainerView',
      'RetrievePropertiesEx',
      'Login',
      'CreateContainerView',
      'RetrievePropertiesEx',
      'DestroyView',
      'Logout',
    ]);
    const retry = server.requests[6];
    expect(retry?.body).toContain('<obj type="ContainerView">session[2]view</obj>');
    // The fresh Login goes out without the dead cookie; later calls use the new one.
    expect(server.requests[4]?.headers.cookie).toBeUndefined();
    expect(retry?.headers.cookie).toBe('vmware_soap_session="session-2"');
  });

  it('gives up after one re-login', async () => {
    const server = await stubWith((request) => (request.method === 'RetrievePropertiesEx' ? soapFault('NotAuthenticated') : undefined));
    const client = clientFor(server);
    await expect(
      client.withSession(async (session) => {
        for await (const _page of session.retrieve(await vmView(session))) {
          // consume
        }
      }),
    ).rejects.toBeInstanceOf(NotAuthenticatedError);
    expect(server.methods().filter((method) => method === 'Login')).toHaveLength(2);
    expect(server.methods().filter((method) => method === 'RetrievePropertiesEx')).toHaveLength(2);
  });

  it('treats a per-property NotAuthenticated missingSet (vcsim) as a lost session', async () => {
    let calls = 0;
    const server = await stubWith((request) => {
      if (request.method !== 'RetrievePropertiesEx') return undefined;
      calls++;
      if (calls === 1) {
        return {
          body: soapBody(
            '<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="VirtualMachine">vm-1</obj><missingSet><path>name</path><fault><fault xsi:type="NotAuthenticated"/></fault></missingSet></objects></returnval></RetrievePropertiesExResponse>',
          ),
        };
      }
      return pageReply('RetrievePropertiesEx', ['vm-1']);
    });
    const client = clientFor(server);
    const names = await client.withSession(async (session) => {
      const result: unknown[] = [];
      for await (const page of session.retrieve(await vmView(session))) result.push(...page.map((object) => object.props.name));
      return result;
    });
    expect(names).toEqual(['vm-1']);
    expect(client.stats.relogins).toBe(1);
  });

  it('does not retry a ContinueRetrievePropertiesEx (its token belonged to the dead session)', async () => {
    const server = await stubWith((request) => {
      if (request.method === 'RetrievePropertiesEx') return pageReply('RetrievePropertiesEx', ['vm-1'], 't1');
      if (request.method === 'ContinueRetrievePropertiesEx') return soapFault('NotAuthenticated');
      return undefined;
    });
    const client = clientFor(server);
    await expect(
      client.withSession(async (session) => {
        for await (const _page of session.retrieve(await vmView(session))) {
          // consume
        }
      }),
    ).rejects.toBeInstanceOf(NotAuthenticatedError);
    expect(server.methods().filter((method) => method === 'Login')).toHaveLength(1);
    expect(server.methods()).not.toContain('CancelRetrievePropertiesEx');
  });
});

describe('VimClient errors', () => {
  it.each([
    ['ManagedObjectNotFound', '<obj type="VirtualMachine">vm-404</obj>', ManagedObjectNotFoundError],
    ['InvalidProperty', '<name>config.bogus</name>', InvalidPropertyError],
    [
      'MethodNotFound',
      '<receiver type="PropertyCollector">propertyCollector</receiver><method>ContinueRetrievePropertiesEx</method>',
      MethodNotFoundError,
    ],
    ['InvalidArgument', '<invalidProperty>type</invalidProperty>', VimFaultError],
  ])('maps a %s fault to its typed error', async (faultType, detail, ErrorClass) => {
    const server = await stubWith((request) =>
      request.method === 'RetrievePropertiesEx' ? soapFault(faultType, `${faultType} happened`, detail) : undefined,
    );
    const client = clientFor(server);
    const error = await client
      .withSession(async (session) => {
        for await (const _page of session.retrieve(await vmView(session))) {
          // consume
        }
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ErrorClass);
    expect(error).toMatchObject({ faultType, faultMessage: `${faultType} happened`, method: 'RetrievePropertiesEx', code: 'fault' });
    if (error instanceof ManagedObjectNotFoundError) expect(error.obj).toEqual(new MoRef('VirtualMachine', 'vm-404'));
    if (error instanceof InvalidPropertyError) expect(error.propertyName).toBe('config.bogus');
  });

  it('times out a call that never gets an answer', async () => {
    const server = await stubWith((request) => (request.method === 'RetrievePropertiesEx' ? 'hang' : undefined));
    const client = clientFor(server, { timeoutMs: 300 });
    const started = Date.now();
    const error = await client
      .withSession(async (session) => {
        for await (const _page of session.retrieve(await vmView(session))) {
          // consume
        }
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VimTimeoutError);
    expect(error).toMatchObject({ method: 'RetrievePropertiesEx', timeoutMs: 300 });
    // Cleanup (DestroyView, Logout) still ran, each with its own timeout.
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(server.methods().slice(-2)).toEqual(['DestroyView', 'Logout']);
  });

  it('times out a response that stalls halfway', async () => {
    const server = await stubWith((request) =>
      request.method === 'RetrievePropertiesEx'
        ? { stallAfter: '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>' }
        : undefined,
    );
    const client = clientFor(server);
    await client.connect();
    const view = await client.createContainerView(['VirtualMachine']);
    const pages = client.retrieve([viewFilterSpec(view, [{ type: 'VirtualMachine', pathSet: ['name'] }])], { timeoutMs: 200 });
    await expect(pages.next()).rejects.toBeInstanceOf(VimTimeoutError);
    await client.disconnect();
  });

  it('reports a closed port as unreachable', async () => {
    const port = await closedPort();
    const client = new VimClient({ endpoint: `http://127.0.0.1:${port}`, allowHttp: true, username: 'u', password: 'p', timeoutMs: 2_000 });
    const error = await client.connect().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VimUnreachableError);
    expect(error).toMatchObject({ systemCode: 'ECONNREFUSED', method: 'RetrieveServiceContent' });
    await client.disconnect();
  });

  it('reports a non-SOAP HTTP failure as VimHttpError with a body snippet', async () => {
    const server = await stubWith((request) =>
      request.method === 'RetrieveServiceContent'
        ? { status: 503, contentType: 'text/html', body: '<html>Service Unavailable</html>' }
        : undefined,
    );
    const error = await clientFor(server)
      .connect()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VimHttpError);
    expect(error).toMatchObject({ status: 503, bodySnippet: '<html>Service Unavailable</html>' });
  });

  it('reports malformed XML as a protocol error', async () => {
    const server = await stubWith((request) =>
      request.method === 'RetrieveServiceContent' ? { body: soapBody('<RetrieveServiceContentResponse><oops>') } : undefined,
    );
    await expect(clientFor(server).connect()).rejects.toBeInstanceOf(VimProtocolError);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
