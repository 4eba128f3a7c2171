import {
  decodeObjectContent,
  decodeValue,
  escapeXml,
  MoRef,
  type ObjectContent,
  SoapResponseReader,
  type XmlNode,
  XmlReadError,
  xml,
} from '#shared/vsphere/xml';

const ENVELOPE_OPEN =
  '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>';
const ENVELOPE_CLOSE = '</soapenv:Body></soapenv:Envelope>';
/** vcsim's spelling: a prefix named after the namespace, declared on each value. */
const VCSIM_VAL = 'xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" XMLSchema-instance:type';

function envelope(body: string): string {
  return ENVELOPE_OPEN + body + ENVELOPE_CLOSE;
}

function retrieveResponse(objects: string, token?: string): string {
  return envelope(
    `<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval>${token ? `<token>${token}</token>` : ''}${objects}</returnval></RetrievePropertiesExResponse>`,
  );
}

/** Parses a RetrievePropertiesEx response, feeding it in small chunks to exercise the streaming path. */
function readObjects(document: string, chunkSize = 7): { objects: ObjectContent[]; rest: XmlNode } {
  const objects: ObjectContent[] = [];
  const reader = new SoapResponseReader({ path: ['returnval', 'objects'], onElement: (node) => objects.push(decodeObjectContent(node)) });
  for (let offset = 0; offset < document.length; offset += chunkSize) reader.write(document.slice(offset, offset + chunkSize));
  const content = reader.close();
  if (content.kind !== 'response') throw new Error(`expected a response, got ${content.kind}`);
  return { objects, rest: content.body };
}

function onlyObject(document: string): ObjectContent {
  const { objects } = readObjects(document);
  expect(objects).toHaveLength(1);
  return objects[0] as ObjectContent;
}

const prop = (name: string, value: string) => `<propSet><name>${name}</name>${value}</propSet>`;

describe('vim25 response decoding', () => {
  it('decodes vcsim values (XMLSchema-instance:type) by namespace, keeping strings as strings', () => {
    const object = onlyObject(
      retrieveResponse(
        `<objects><obj type="VirtualMachine">vm-57</obj>${prop('name', `<val ${VCSIM_VAL}="xsd:string">007</val>`)}${prop(
          'config.hardware.memoryMB',
          `<val ${VCSIM_VAL}="xsd:int">32</val>`,
        )}${prop('summary.storage.committed', `<val ${VCSIM_VAL}="xsd:long">1073741824</val>`)}${prop(
          'config.template',
          `<val ${VCSIM_VAL}="xsd:boolean">false</val>`,
        )}${prop('runtime.powerState', `<val ${VCSIM_VAL}="VirtualMachinePowerState">poweredOn</val>`)}${prop(
          'runtime.host',
          `<val ${VCSIM_VAL}="ManagedObjectReference" type="HostSystem">host-21</val>`,
        )}</objects>`,
      ),
    );
    expect(object.obj).toEqual(new MoRef('VirtualMachine', 'vm-57'));
    expect(object.props).toEqual({
      name: '007',
      'config.hardware.memoryMB': 32,
      'summary.storage.committed': 1073741824,
      'config.template': false,
      'runtime.powerState': 'poweredOn',
      'runtime.host': new MoRef('HostSystem', 'host-21'),
    });
    expect(object.props.name).toBe('007');
  });

  it('decodes the xsi:type spelling and any other prefix bound to the XML Schema instance namespace', () => {
    const object = onlyObject(
      retrieveResponse(
        `<objects><obj type="HostSystem">host-1</obj>${prop('a', '<val xsi:type="xsd:int">1</val>')}${prop(
          'b',
          '<val xmlns:q="http://www.w3.org/2001/XMLSchema-instance" xmlns:s="http://www.w3.org/2001/XMLSchema" q:type="s:double">2.5</val>',
        )}${prop('c', '<val xmlns:q="urn:not-xsi" q:type="xsd:int">3</val>')}</objects>`,
      ),
    );
    // `c`'s prefix is not the XSI namespace, so its "type" is not a type: the value stays text.
    expect(object.props).toEqual({ a: 1, b: 2.5, c: '3' });
  });

  it('never guesses: numeric-looking, exponent and empty strings stay strings; bad typed numbers stay text', () => {
    const object = onlyObject(
      retrieveResponse(
        `<objects><obj type="VirtualMachine">vm-1</obj>${prop('serial', `<val ${VCSIM_VAL}="xsd:string">1e10</val>`)}${prop(
          'empty',
          `<val ${VCSIM_VAL}="xsd:string"></val>`,
        )}${prop('badInt', `<val ${VCSIM_VAL}="xsd:int">12abc</val>`)}${prop(
          'huge',
          `<val ${VCSIM_VAL}="xsd:long">90071992547409930</val>`,
        )}${prop('untyped', '<val>0042</val>')}${prop('bool1', '<val xsi:type="xsd:boolean">1</val>')}</objects>`,
      ),
    );
    expect(object.props).toEqual({ serial: '1e10', empty: '', badInt: '12abc', huge: '90071992547409930', untyped: '0042', bool1: true });
  });

  it('decodes ArrayOf values, including one-element and primitive arrays', () => {
    const object = onlyObject(
      retrieveResponse(
        `<objects><obj type="VirtualMachine">vm-1</obj>${prop(
          'datastore',
          `<val ${VCSIM_VAL}="ArrayOfManagedObjectReference"><ManagedObjectReference type="Datastore">ds-1</ManagedObjectReference></val>`,
        )}${prop('tags', `<val ${VCSIM_VAL}="ArrayOfString"><string>007</string><string>b</string></val>`)}${prop(
          'ids',
          `<val ${VCSIM_VAL}="ArrayOfInt"><int>1</int><int>2</int></val>`,
        )}${prop('none', `<val ${VCSIM_VAL}="ArrayOfGuestNicInfo"></val>`)}${prop(
          'guest.net',
          `<val ${VCSIM_VAL}="ArrayOfGuestNicInfo"><GuestNicInfo><macAddress>00:0c:29:36:63:62</macAddress><connected>true</connected><deviceConfigId>4000</deviceConfigId></GuestNicInfo></val>`,
        )}</objects>`,
      ),
    );
    expect(object.props.datastore).toEqual([new MoRef('Datastore', 'ds-1')]);
    expect(object.props.tags).toEqual(['007', 'b']);
    expect(object.props.ids).toEqual([1, 2]);
    expect(object.props.none).toEqual([]);
    // Nested fields carry no xsi:type: they stay text, and the mapper converts them knowingly.
    expect(object.props['guest.net']).toEqual([
      { _type: undefined, macAddress: '00:0c:29:36:63:62', connected: 'true', deviceConfigId: '4000' },
    ]);
  });

  it('decodes nested data objects: typed children, untyped MoRefs, repeated fields as arrays', () => {
    const device = `<VirtualDevice XMLSchema-instance:type="VirtualDisk"><key>2000</key><deviceInfo XMLSchema-instance:type="Description"><label>Hard disk 1</label></deviceInfo><backing XMLSchema-instance:type="VirtualDiskFlatVer2BackingInfo"><fileName>[ds] vm/vm.vmdk</fileName><datastore type="Datastore">/tmp/govcsim-DC0-LocalDS_0@folder-5</datastore><thinProvisioned>true</thinProvisioned></backing><capacityInKB>1024</capacityInKB></VirtualDevice>`;
    const trunk = `<vlan XMLSchema-instance:type="VmwareDistributedVirtualSwitchTrunkVlanSpec"><inherited>false</inherited><vlanId><start>0</start><end>99</end></vlanId><vlanId><start>200</start><end>299</end></vlanId><vlanId><start>400</start><end>400</end></vlanId></vlan>`;
    const object = onlyObject(
      retrieveResponse(
        `<objects><obj type="VirtualMachine">vm-1</obj>${prop('config.hardware.device', `<val ${VCSIM_VAL}="ArrayOfVirtualDevice">${device}</val>`)}${prop(
          'config.defaultPortConfig',
          `<val ${VCSIM_VAL}="VMwareDVSPortSetting">${trunk}</val>`,
        )}${prop('summary.quickStats', `<val ${VCSIM_VAL}="VirtualMachineQuickStats"/>`)}</objects>`,
      ),
    );
    expect(object.props['config.hardware.device']).toEqual([
      {
        _type: 'VirtualDisk',
        key: '2000',
        deviceInfo: { _type: 'Description', label: 'Hard disk 1' },
        backing: {
          _type: 'VirtualDiskFlatVer2BackingInfo',
          fileName: '[ds] vm/vm.vmdk',
          datastore: new MoRef('Datastore', '/tmp/govcsim-DC0-LocalDS_0@folder-5'),
          thinProvisioned: 'true',
        },
        capacityInKB: '1024',
      },
    ]);
    expect(object.props['config.defaultPortConfig']).toEqual({
      _type: 'VMwareDVSPortSetting',
      vlan: {
        _type: 'VmwareDistributedVirtualSwitchTrunkVlanSpec',
        inherited: 'false',
        vlanId: [
          { start: '0', end: '99' },
          { start: '200', end: '299' },
          { start: '400', end: '400' },
        ],
      },
    });
    // An empty typed struct is an empty data object, not an empty string.
    expect(object.props['summary.quickStats']).toEqual({ _type: 'VirtualMachineQuickStats' });
  });

  it('reports missingSet paths with their fault types', () => {
    const object = onlyObject(
      retrieveResponse(
        `<objects><obj type="Datastore">ds-1</obj>${prop('name', `<val ${VCSIM_VAL}="xsd:string">LocalDS_0</val>`)}<missingSet><path>bogus.path</path><fault><fault ${VCSIM_VAL}="InvalidProperty"><name>bogus.path</name></fault></fault></missingSet><missingSet><path>summary</path><fault><fault xsi:type="NoPermission"/></fault></missingSet></objects>`,
      ),
    );
    expect(object.props).toEqual({ name: 'LocalDS_0' });
    expect(object.missing).toEqual(['bogus.path', 'summary']);
    expect(object.missingFaults).toEqual({ 'bogus.path': 'InvalidProperty', summary: 'NoPermission' });
  });

  it('streams each object to the callback and keeps the rest of the response (token) in the tree', () => {
    const objects = Array.from({ length: 3 }, (_, i) => `<objects><obj type="VirtualMachine">vm-${i}</obj></objects>`).join('');
    const { objects: streamed, rest } = readObjects(retrieveResponse(objects, 'token-1'), 3);
    expect(streamed.map((object) => object.obj.value)).toEqual(['vm-0', 'vm-1', 'vm-2']);
    expect(rest.name).toBe('RetrievePropertiesExResponse');
    const returnval = rest.children[0] as XmlNode;
    expect(returnval.children.map((node) => [node.name, node.text])).toEqual([['token', 'token-1']]);
  });

  it('decodes control characters sent as character references, so the mapper can reject the record', () => {
    const object = onlyObject(
      retrieveResponse(
        `<objects><obj type="VirtualMachine">vm-1</obj>${prop('name', '<val xsi:type="xsd:string">bad&#x1;name &amp; &lt;more&gt;</val>')}</objects>`,
      ),
    );
    expect(object.props.name).toBe('bad\u0001name & <more>');
  });

  it('does not let an element named __proto__ touch prototypes', () => {
    const object = onlyObject(
      retrieveResponse(
        `<objects><obj type="VirtualMachine">vm-1</obj>${prop('__proto__', '<val xsi:type="xsd:string">x</val>')}${prop(
          'config',
          '<val xsi:type="Thing"><__proto__><polluted>yes</polluted></__proto__></val>',
        )}</objects>`,
      ),
    );
    expect(Object.hasOwn(object.props, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(object.props)).toBe(Object.prototype);
  });

  it('returns faults separately from responses', () => {
    const reader = new SoapResponseReader();
    reader.write(
      envelope(
        '<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>Login failure</faultstring><detail><InvalidLoginFault xmlns="urn:vim25" xsi:type="InvalidLogin"/></detail></soapenv:Fault>',
      ),
    );
    const content = reader.close();
    expect(content.kind).toBe('fault');
    if (content.kind !== 'fault') return;
    const detail = content.fault.children.find((node) => node.name === 'detail')?.children[0];
    expect(detail?.xsiType).toBe('InvalidLogin');
  });

  it('rejects malformed XML and non-SOAP documents', () => {
    const broken = new SoapResponseReader();
    expect(() => {
      broken.write(`${ENVELOPE_OPEN}<Foo><bar></Foo>`);
      broken.close();
    }).toThrow(XmlReadError);
    const notSoap = new SoapResponseReader();
    expect(() => notSoap.write('<html><body>proxy error</body></html>')).toThrow(XmlReadError);
  });

  it('decodes xsi:nil as absent', () => {
    const node: XmlNode = { name: 'val', xsiType: 'xsd:string', refType: undefined, nil: true, text: '', children: [], uri: '' };
    expect(decodeValue(node)).toBeUndefined();
  });
});

describe('request building', () => {
  it('escapes every interpolated string, including attributes', () => {
    const password = `p<a>ss"&'word`;
    const body = xml`<Login><_this type="${'Session"Manager'}">SessionManager</_this><password>${password}</password></Login>`;
    expect(body.markup).toBe(
      '<Login><_this type="Session&quot;Manager">SessionManager</_this><password>p&lt;a&gt;ss&quot;&amp;&apos;word</password></Login>',
    );
  });

  it('inlines fragments and fragment arrays without escaping them twice', () => {
    const paths = ['name', 'a&b'].map((path) => xml`<pathSet>${path}</pathSet>`);
    expect(xml`<propSet>${paths}${xml`<all>${false}</all>`}</propSet>`.markup).toBe(
      '<propSet><pathSet>name</pathSet><pathSet>a&amp;b</pathSet><all>false</all></propSet>',
    );
  });

  it('refuses characters XML 1.0 cannot carry instead of dropping them', () => {
    expect(() => escapeXml('pass\u0000word')).toThrow(RangeError);
    expect(() => xml`<password>${'a\u0007b'}</password>`).toThrow(RangeError);
    expect(escapeXml('tab\tnewline\n')).toBe('tab\tnewline\n');
  });
});
