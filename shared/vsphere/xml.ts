/**
 * XML for vim25 SOAP: request building with mandatory escaping, and a streaming response reader.
 *
 * Requests are built with the `xml` tagged template: every interpolated value is escaped unless it is already an
 * `XmlFragment` (markup built the same way), so a password or object name can never inject markup.
 *
 * Responses are read with saxes as the bytes arrive. The reader keeps a light element tree, except under one chosen
 * path (e.g. `returnval/objects` of a RetrievePropertiesEx response) where each completed element is handed to a
 * callback and dropped, so a response with thousands of objects never exists as one document in memory.
 *
 * Decoding follows the wire types only. A value becomes a number or boolean only when its `xsi:type` says so
 * (xsd:int, xsd:boolean, ...): a VM named `007` stays the string `007`. Nested fields that carry no `xsi:type`
 * (e.g. `capacityInKB` inside a VirtualDisk) stay strings, and a nested field that appears once is a single value,
 * not a one-element array: the schema is not known here, so the mapping code, which knows the vSphere types,
 * converts and normalises those fields explicitly (see `asList`, `parseIntStrict`).
 */
import { SaxesParser, type SaxesTagNS } from 'saxes';

const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
const XSD_NS = 'http://www.w3.org/2001/XMLSchema';
export const SOAP_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';

/* ------------------------------------------------------------------------------------------------------------ */
/* Request building                                                                                               */
/* ------------------------------------------------------------------------------------------------------------ */

/** Markup that is already well-formed and escaped; only `xml` and `xmlText`/`xmlRaw` create it. */
export class XmlFragment {
  constructor(readonly markup: string) {}
  toString(): string {
    return this.markup;
  }
}

export type XmlInterpolation = XmlFragment | string | number | boolean | readonly XmlFragment[] | null | undefined;

// XML 1.0 cannot carry most C0 control characters even as character references, so they are refused rather than
// silently dropped (dropping a character from a password would produce a confusing InvalidLogin).
// biome-ignore lint/suspicious/noControlCharactersInRegex: detecting characters XML 1.0 cannot represent
const XML_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/;
const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes text for element content and attribute values. Throws on characters XML 1.0 cannot represent. */
export function escapeXml(value: string): string {
  if (XML_FORBIDDEN.test(value)) throw new RangeError('value contains characters that XML 1.0 cannot represent');
  return value.replace(/[&<>"']/g, (char) => XML_ESCAPES[char] ?? char);
}

/** Tagged template for request bodies: interpolated strings are escaped, fragments and fragment arrays are inlined. */
export function xml(strings: TemplateStringsArray, ...values: XmlInterpolation[]): XmlFragment {
  let markup = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) {
    markup += interpolate(values[i]) + (strings[i + 1] ?? '');
  }
  return new XmlFragment(markup);
}

function interpolate(value: XmlInterpolation): string {
  if (value === null || value === undefined) return '';
  if (value instanceof XmlFragment) return value.markup;
  if (Array.isArray(value)) return value.map((item: XmlFragment) => item.markup).join('');
  if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError('cannot serialise a non-finite number');
  return escapeXml(String(value));
}

/** Joins fragments (e.g. one per path) into one. */
export function xmlJoin(fragments: readonly XmlFragment[]): XmlFragment {
  return new XmlFragment(fragments.map((fragment) => fragment.markup).join(''));
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Decoded values                                                                                                 */
/* ------------------------------------------------------------------------------------------------------------ */

/** A managed object reference, e.g. HostSystem:host-21. Values are opaque (vcsim uses file paths for datastores). */
export class MoRef {
  constructor(
    readonly type: string,
    readonly value: string,
  ) {}
  toString(): string {
    return `${this.type}:${this.value}`;
  }
}

export type VimPrimitive = string | number | boolean;
/** A data object. `_type` is its `xsi:type` when the XML gave one; nested untyped objects have none. */
export interface VimData {
  _type?: string;
  [field: string]: VimValue | undefined;
}
export type VimValue = VimPrimitive | MoRef | VimData | VimValue[];

/** One object of a RetrievePropertiesEx result. */
export interface ObjectContent {
  obj: MoRef;
  /** Requested property path -> value. Paths the server left out (unset values) are simply absent. */
  props: Record<string, VimValue>;
  /** Paths the server could not read (missingSet), e.g. an invalid path on vcsim or a permission problem. */
  missing: string[];
  /** Fault type per missing path, e.g. `InvalidProperty`, `NotAuthenticated`, `NoPermission`. */
  missingFaults: Record<string, string>;
}

export function isVimData(value: VimValue | undefined): value is VimData {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof MoRef);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Light element tree                                                                                             */
/* ------------------------------------------------------------------------------------------------------------ */

/** An element as read from the wire: local name, the attributes vim25 uses, text and child elements. */
export interface XmlNode {
  name: string;
  /** `xsi:type`, normalised: XML Schema built-ins as `xsd:<name>`, vim types by local name (`HostSystemInfo`). */
  xsiType: string | undefined;
  /** The unqualified `type` attribute, which only ManagedObjectReference elements carry. */
  refType: string | undefined;
  nil: boolean;
  text: string;
  children: XmlNode[];
  /** Namespace URI of the element (used to recognise the SOAP envelope). */
  uri: string;
}

export interface StreamOptions {
  /** Element names below the response element, e.g. ['returnval', 'objects']. */
  path: readonly string[];
  /** Called once per completed element at `path`; the element is then dropped from the tree. */
  onElement: (node: XmlNode) => void;
}

export type SoapEnvelopeContent =
  | { kind: 'response' /** The first element of the SOAP Body, e.g. RetrievePropertiesExResponse. */; body: XmlNode }
  | { kind: 'fault'; fault: XmlNode }
  | { kind: 'empty' };

export class XmlReadError extends Error {
  override name = 'XmlReadError';
}

/**
 * Incremental reader for one SOAP response. Feed decoded text with `write`, then call `close`.
 * Elements outside Envelope/Body (headers) are ignored.
 */
export class SoapResponseReader {
  private readonly parser: SaxesParser<{ xmlns: true; position: false }>;
  private readonly stack: XmlNode[] = [];
  /** Depth below the Body's first element, for matching the stream path. -1 until the Body child opens. */
  private bodyChild: XmlNode | undefined;
  private bodyDepth = -1;
  private sawEnvelope = false;
  private error: Error | undefined;

  constructor(private readonly stream?: StreamOptions) {
    // XML 1.1 rules so that character references to control characters (`&#x1;`, legal in 1.1) are decoded
    // instead of aborting the whole response: one hostile VM name must not fail a page; mapping rejects it.
    this.parser = new SaxesParser({ xmlns: true, position: false, defaultXMLVersion: '1.1', forceXMLVersion: true });
    this.parser.on('opentag', (tag) => this.open(tag));
    this.parser.on('text', (text) => this.appendText(text));
    this.parser.on('cdata', (text) => this.appendText(text));
    this.parser.on('closetag', () => this.closeElement());
    this.parser.on('error', (error) => {
      this.error ??= new XmlReadError(error.message);
    });
  }

  write(chunk: string): void {
    this.parser.write(chunk);
    if (this.error) throw this.error;
  }

  close(): SoapEnvelopeContent {
    this.parser.close();
    if (this.error) throw this.error;
    if (!this.sawEnvelope) throw new XmlReadError('response is not a SOAP envelope');
    const body = this.bodyChild;
    if (!body) return { kind: 'empty' };
    if (body.name === 'Fault' && body.uri === SOAP_ENV_NS) return { kind: 'fault', fault: body };
    return { kind: 'response', body };
  }

  private open(tag: SaxesTagNS): void {
    const depth = this.stack.length;
    if (depth === 0) {
      if (tag.local !== 'Envelope' || tag.uri !== SOAP_ENV_NS) throw new XmlReadError(`unexpected root element <${tag.name}>`);
      this.sawEnvelope = true;
    }
    const node: XmlNode = {
      name: tag.local,
      xsiType: undefined,
      refType: undefined,
      nil: false,
      text: '',
      children: [],
      uri: tag.uri,
    };
    for (const key in tag.attributes) {
      const attribute = tag.attributes[key];
      if (!attribute) continue;
      // Resolve by namespace URI, not by prefix: vcsim writes `XMLSchema-instance:type`, vCenter `xsi:type`.
      if (attribute.uri === XSI_NS) {
        if (attribute.local === 'type') node.xsiType = this.normaliseTypeName(attribute.value);
        else if (attribute.local === 'nil') node.nil = attribute.value === 'true' || attribute.value === '1';
      } else if (attribute.uri === '' && attribute.local === 'type') {
        node.refType = attribute.value;
      }
    }
    if (depth === 2 && this.isBody(this.stack[1])) {
      this.bodyChild = node;
      this.bodyDepth = depth;
    }
    this.stack.push(node);
  }

  private isBody(node: XmlNode | undefined): boolean {
    return node?.name === 'Body' && node.uri === SOAP_ENV_NS;
  }

  /** `xsd:int` -> `xsd:int` when the prefix is bound to XML Schema; `vim25:Foo`/`Foo` -> `Foo`. */
  private normaliseTypeName(qname: string): string {
    const colon = qname.indexOf(':');
    if (colon < 0) return qname;
    const prefix = qname.slice(0, colon);
    const local = qname.slice(colon + 1);
    const uri = this.parser.resolve(prefix);
    // An undeclared `xsd:`/`xs:` prefix is still XML Schema in practice; anything else is a vim type.
    const isSchema = uri === XSD_NS || (uri === undefined && (prefix === 'xsd' || prefix === 'xs'));
    return isSchema ? `xsd:${local}` : local;
  }

  private appendText(text: string): void {
    const node = this.stack[this.stack.length - 1];
    // Text outside the Body's content (envelope whitespace) is irrelevant.
    if (node && this.bodyDepth >= 0 && this.stack.length > this.bodyDepth) node.text += text;
  }

  private closeElement(): void {
    const node = this.stack.pop();
    if (!node) return;
    const parent = this.stack[this.stack.length - 1];
    if (!parent || this.bodyDepth < 0 || this.stack.length <= this.bodyDepth) return;
    if (this.stream && this.matchesStreamPath(node)) {
      this.stream.onElement(node);
      return;
    }
    parent.children.push(node);
  }

  /** True when the element just closed sits at `bodyChild/<stream.path...>`. */
  private matchesStreamPath(node: XmlNode): boolean {
    const path = this.stream?.path ?? [];
    // The stack now holds ancestors only; the closed element is one deeper.
    if (this.stack.length !== this.bodyDepth + path.length || node.name !== path[path.length - 1]) return false;
    for (let i = 0; i < path.length - 1; i++) {
      if (this.stack[this.bodyDepth + 1 + i]?.name !== path[i]) return false;
    }
    return true;
  }
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Decoding                                                                                                       */
/* ------------------------------------------------------------------------------------------------------------ */

const INTEGER_TYPES = new Set([
  'xsd:int',
  'xsd:long',
  'xsd:short',
  'xsd:byte',
  'xsd:integer',
  'xsd:unsignedInt',
  'xsd:unsignedLong',
  'xsd:unsignedShort',
  'xsd:unsignedByte',
]);
const FLOAT_TYPES = new Set(['xsd:double', 'xsd:float', 'xsd:decimal']);
const INTEGER_LEXICAL = /^[+-]?\d+$/;
const FLOAT_LEXICAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Item types of the vim25 primitive arrays, whose items carry no xsi:type of their own. */
const ARRAY_ITEM_TYPES: Record<string, string> = {
  ArrayOfString: 'xsd:string',
  ArrayOfInt: 'xsd:int',
  ArrayOfLong: 'xsd:long',
  ArrayOfShort: 'xsd:short',
  ArrayOfByte: 'xsd:byte',
  ArrayOfDouble: 'xsd:double',
  ArrayOfFloat: 'xsd:float',
  ArrayOfBoolean: 'xsd:boolean',
  ArrayOfDateTime: 'xsd:dateTime',
  ArrayOfAnyURI: 'xsd:anyURI',
  ArrayOfBase64Binary: 'xsd:base64Binary',
};

/**
 * Converts a typed primitive. A lexically invalid value (e.g. `xsd:int` "12abc") and an integer beyond 2^53 stay
 * the original string: no guessing, and the mapper's schema then rejects the record instead of storing a wrong number.
 */
export function decodePrimitive(xsdType: string, text: string): VimPrimitive {
  if (INTEGER_TYPES.has(xsdType)) {
    if (!INTEGER_LEXICAL.test(text)) return text;
    const value = Number(text);
    return Number.isSafeInteger(value) ? value : text;
  }
  if (FLOAT_TYPES.has(xsdType)) {
    if (FLOAT_LEXICAL.test(text)) return Number(text);
    if (text === 'INF') return Number.POSITIVE_INFINITY;
    if (text === '-INF') return Number.NEGATIVE_INFINITY;
    if (text === 'NaN') return Number.NaN;
    return text;
  }
  if (xsdType === 'xsd:boolean') {
    if (text === 'true' || text === '1') return true;
    if (text === 'false' || text === '0') return false;
    return text;
  }
  return text;
}

/** Decodes an element into a VimValue; `undefined` for `xsi:nil` elements. */
export function decodeValue(node: XmlNode, itemType?: string): VimValue | undefined {
  if (node.nil) return undefined;
  const type = node.xsiType ?? itemType;
  if (type?.startsWith('xsd:')) return decodePrimitive(type, node.text);
  if (type === 'ManagedObjectReference' || (node.refType !== undefined && node.children.length === 0)) {
    return new MoRef(node.refType ?? '', node.text);
  }
  if (type?.startsWith('ArrayOf')) {
    const childType = ARRAY_ITEM_TYPES[type];
    const items: VimValue[] = [];
    for (const child of node.children) {
      const item = decodeValue(child, childType);
      if (item !== undefined) items.push(item);
    }
    return items;
  }
  if (node.children.length === 0) {
    // A typed element with neither text nor children is an empty data object (e.g. VirtualMachineQuickStats with
    // every field unset); everything else without children is text: enums and untyped leaves, kept verbatim.
    if (type !== undefined && node.text === '') return { _type: type };
    return node.text;
  }
  const data: VimData = type === undefined ? {} : { _type: type };
  for (const child of node.children) {
    const value = decodeValue(child);
    if (value === undefined) continue;
    appendField(data, child.name, value);
  }
  return data;
}

/** Repeated child elements become an array, in document order. `__proto__` is stored as a plain own property. */
function appendField(data: VimData, name: string, value: VimValue): void {
  if (!Object.hasOwn(data, name)) {
    if (name === '__proto__') Object.defineProperty(data, name, { value, enumerable: true, writable: true, configurable: true });
    else data[name] = value;
    return;
  }
  const existing = data[name];
  if (Array.isArray(existing) && repeatedMarker.has(existing)) {
    existing.push(value);
    return;
  }
  const list: VimValue[] = existing === undefined ? [value] : [existing, value];
  repeatedMarker.add(list);
  data[name] = list;
}

// Arrays built from repeated elements are remembered so a third occurrence appends instead of nesting; a value
// that was itself an array (a typed ArrayOfX child) is wrapped rather than merged.
const repeatedMarker = new WeakSet<VimValue[]>();

/** Decodes `<objects>` (ObjectContent): obj, propSet (name/val) and missingSet (path/fault). */
export function decodeObjectContent(node: XmlNode): ObjectContent {
  let obj: MoRef | undefined;
  const props: Record<string, VimValue> = {};
  const missing: string[] = [];
  const missingFaults: Record<string, string> = {};
  for (const child of node.children) {
    if (child.name === 'obj') {
      obj = new MoRef(child.refType ?? '', child.text);
    } else if (child.name === 'propSet') {
      let name: string | undefined;
      let valueNode: XmlNode | undefined;
      for (const part of child.children) {
        if (part.name === 'name') name = part.text;
        else if (part.name === 'val') valueNode = part;
      }
      if (name === undefined || valueNode === undefined) continue;
      const value = decodeValue(valueNode);
      if (value === undefined) continue;
      if (name === '__proto__') Object.defineProperty(props, name, { value, enumerable: true, writable: true, configurable: true });
      else props[name] = value;
    } else if (child.name === 'missingSet') {
      const path = child.children.find((part) => part.name === 'path')?.text;
      if (path === undefined) continue;
      missing.push(path);
      const fault = child.children.find((part) => part.name === 'fault');
      const inner = fault?.children.find((part) => part.name === 'fault');
      missingFaults[path] = inner?.xsiType ?? fault?.xsiType ?? 'unknown';
    }
  }
  if (!obj) throw new XmlReadError('ObjectContent without obj');
  return { obj, props, missing, missingFaults };
}

/** First child element with this name. */
export function child(node: XmlNode, name: string): XmlNode | undefined {
  return node.children.find((item) => item.name === name);
}
