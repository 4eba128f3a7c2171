/**
 * A scripted vim25 endpoint on 127.0.0.1 for client tests: paging tokens, faults, hangs and gzip that the
 * simulator cannot produce (vcsim 0.24.2 never pages). Each request is recorded with its SOAP method.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

export interface StubRequest {
  /** Local name of the first element in the SOAP Body, e.g. `RetrievePropertiesEx`. */
  method: string;
  body: string;
  headers: IncomingHttpHeaders;
}

export type StubReply =
  | { status?: number; body: string; contentType?: string; headers?: Record<string, string>; gzip?: boolean }
  /** Accept the request and never answer. */
  | 'hang'
  /** Send headers and the first part of the body, then stall. */
  | { stallAfter: string };

export interface SoapStub {
  url: string;
  requests: StubRequest[];
  methods(): string[];
  close(): Promise<void>;
}

export async function startSoapStub(handler: (request: StubRequest) => StubReply | Promise<StubReply>): Promise<SoapStub> {
  const requests: StubRequest[] = [];
  const stalled: ServerResponse[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const method = /<soapenv:Body><([A-Za-z_]+)/.exec(body)?.[1] ?? '';
      const recorded = { method, body, headers: request.headers };
      requests.push(recorded);
      const reply = await handler(recorded);
      if (reply === 'hang') {
        stalled.push(response);
        return;
      }
      if ('stallAfter' in reply) {
        response.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' });
        response.write(reply.stallAfter);
        stalled.push(response);
        return;
      }
      const payload = reply.gzip ? gzipSync(reply.body) : Buffer.from(reply.body, 'utf8');
      response.writeHead(reply.status ?? 200, {
        'Content-Type': reply.contentType ?? 'text/xml; charset=utf-8',
        'Content-Length': payload.length,
        ...(reply.gzip ? { 'Content-Encoding': 'gzip' } : {}),
        ...reply.headers,
      });
      response.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sdk`,
    requests,
    methods: () => requests.map((request) => request.method),
    close: async () => {
      for (const response of stalled) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/* Canned vim25 responses ---------------------------------------------------------------------------------------- */

const ENVELOPE_OPEN =
  '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>';
const ENVELOPE_CLOSE = '</soapenv:Body></soapenv:Envelope>';

export function soapBody(inner: string): string {
  return ENVELOPE_OPEN + inner + ENVELOPE_CLOSE;
}

export function soapFault(faultType: string, message = '', detail = ''): StubReply {
  return {
    status: 500,
    body: soapBody(
      `<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>${message}</faultstring><detail><${faultType}Fault xmlns="urn:vim25" xsi:type="${faultType}">${detail}</${faultType}Fault></detail></soapenv:Fault>`,
    ),
  };
}

export const STUB_VCENTER_UUID = '7f6c2a1e-0000-4000-8000-00000000abcd';

export function serviceContentReply(apiVersion = '7.0.3.0'): StubReply {
  return {
    body: soapBody(
      `<RetrieveServiceContentResponse xmlns="urn:vim25"><returnval><rootFolder type="Folder">group-d1</rootFolder><propertyCollector type="PropertyCollector">propertyCollector</propertyCollector><viewManager type="ViewManager">ViewManager</viewManager><about><name>VMware vCenter Server</name><fullName>VMware vCenter Server 7.0.3 build-21477706</fullName><vendor>VMware, Inc.</vendor><version>7.0.3</version><build>21477706</build><apiType>VirtualCenter</apiType><apiVersion>${apiVersion}</apiVersion><instanceUuid>${STUB_VCENTER_UUID}</instanceUuid></about><sessionManager type="SessionManager">SessionManager</sessionManager></returnval></RetrieveServiceContentResponse>`,
    ),
  };
}

export function loginReply(session = 'stub-session-1'): StubReply {
  return {
    body: soapBody(
      `<LoginResponse xmlns="urn:vim25"><returnval><key>${session}</key><userName>user</userName></returnval></LoginResponse>`,
    ),
    headers: { 'Set-Cookie': `vmware_soap_session="${session}"; Path=/; HttpOnly; Secure;` },
  };
}

export function emptyReply(method: string): StubReply {
  return { body: soapBody(`<${method}Response xmlns="urn:vim25"></${method}Response>`) };
}

export function viewReply(view: string): StubReply {
  return {
    body: soapBody(
      `<CreateContainerViewResponse xmlns="urn:vim25"><returnval type="ContainerView">${view}</returnval></CreateContainerViewResponse>`,
    ),
  };
}

/** A RetrievePropertiesEx / ContinueRetrievePropertiesEx page of VMs named after their morefs. */
export function pageReply(
  method: 'RetrievePropertiesEx' | 'ContinueRetrievePropertiesEx',
  morefs: readonly string[],
  token?: string,
): StubReply {
  const objects = morefs
    .map(
      (moref) =>
        `<objects><obj type="VirtualMachine">${moref}</obj><propSet><name>name</name><val xsi:type="xsd:string">${moref}</val></propSet></objects>`,
    )
    .join('');
  return {
    body: soapBody(
      `<${method}Response xmlns="urn:vim25"><returnval>${token ? `<token>${token}</token>` : ''}${objects}</returnval></${method}Response>`,
    ),
  };
}

/** Answers the session plumbing (service content, login, logout, views); returns undefined for anything else. */
export function sessionPlumbing(request: StubRequest): StubReply | undefined {
  switch (request.method) {
    case 'RetrieveServiceContent':
      return serviceContentReply();
    case 'Login':
      return loginReply();
    case 'Logout':
      return emptyReply('Logout');
    case 'CreateContainerView':
      return viewReply('session[stub]view-1');
    case 'DestroyView':
      return emptyReply('DestroyView');
    case 'CancelRetrievePropertiesEx':
      return emptyReply('CancelRetrievePropertiesEx');
    default:
      return undefined;
  }
}

/** The text of `<tag>` in a request body (first occurrence). */
export function elementText(body: string, tag: string): string | undefined {
  return new RegExp(`<${tag}(?: [^>]*)?>([^<]*)</${tag}>`).exec(body)?.[1];
}
