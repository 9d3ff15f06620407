// SPDX-License-Identifier: AGPL-3.0-or-later
//
// Checks of the OpenAPI document pvedaemon serves (driven by test-openapi.sh):
// the official OpenAPI 3.0 JSON schema through @apidevtools/swagger-parser, the rules that
// schema cannot express (path templates, path parameters, unique operationIds, self-consistent
// schemas, ECMA-262 patterns), agreement with upstream's endpoint list, what the server
// actually answers, and the returns of parameterless GETs against their documented schema.
// Generic: it checks whatever is registered.
//
// usage: node validate.cjs DOC.json api-endpoints.tsv BASE_URL TICKET NODE
//        (BASE_URL "-": only the checks of the document itself)
// Prints one line per check: "PASS <what>" or "FAIL <what>" followed by "  <detail>" lines.
"use strict";

const fs = require("fs");
const SwaggerParser = require("@apidevtools/swagger-parser");
const Ajv = require("ajv-draft-04");

const [docPath, tsvPath, base, ticket, node] = process.argv.slice(2);
const doc = JSON.parse(fs.readFileSync(docPath, "utf8"));
const METHODS = ["get", "post", "put", "delete"];

function report(what, problems) {
  if (problems.length === 0) {
    console.log(`PASS ${what}`);
    return;
  }
  console.log(`FAIL ${what}`);
  for (const p of problems.slice(0, 40)) console.log(`  ${p}`);
  if (problems.length > 40) console.log(`  ... ${problems.length - 40} more`);
}

function operations() {
  const ops = [];
  for (const [path, item] of Object.entries(doc.paths || {}))
    for (const m of METHODS) if (item[m]) ops.push({ path, method: m.toUpperCase(), op: item[m] });
  return ops;
}

function templateNames(path) {
  return [...path.matchAll(/\{([^}]*)\}/g)].map((x) => x[1]);
}

// every schema object reachable from an operation, with a location for messages
function* schemas(s, where) {
  if (!s || typeof s !== "object") return;
  yield [s, where];
  for (const [k, p] of Object.entries(s.properties || {})) yield* schemas(p, `${where}.${k}`);
  if (s.items) yield* schemas(s.items, `${where}[]`);
}

function* operationSchemas(o) {
  const where = `${o.method} ${o.path}`;
  for (const p of o.op.parameters || []) yield* schemas(p.schema, `${where} param ${p.name}`);
  for (const [ct, c] of Object.entries((o.op.requestBody || {}).content || {}))
    yield* schemas(c.schema, `${where} body(${ct})`);
  for (const [code, r] of Object.entries(o.op.responses || {}))
    for (const c of Object.values(r.content || {})) yield* schemas(c.schema, `${where} ${code}`);
}

function conforms(schema, v) {
  const t = schema.type;
  if (v === null) return schema.nullable === true || t === undefined;
  if (t === "integer") return Number.isInteger(v);
  if (t === "number") return typeof v === "number";
  if (t === "boolean") return typeof v === "boolean";
  if (t === "string") return typeof v === "string";
  if (t === "array") return Array.isArray(v);
  if (t === "object") return typeof v === "object" && !Array.isArray(v);
  return true;
}

// OpenAPI 3.0 schema objects -> draft-04 for ajv: "nullable" becomes a type list, and a
// boolean also accepts 0/1, which is how upstream (and we) put booleans on the wire
function toJsonSchema(s) {
  if (Array.isArray(s)) return s.map(toJsonSchema);
  if (!s || typeof s !== "object") return s;
  const out = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith("x-") || k === "nullable" || k === "format") continue;
    out[k] = k === "properties" ? Object.fromEntries(Object.entries(v).map(([a, b]) => [a, toJsonSchema(b)])) : toJsonSchema(v);
  }
  if (s.nullable && s.type) out.type = [s.type, "null"];
  if (s.type === "boolean") {
    delete out.type;
    out.anyOf = [{ type: s.nullable ? ["boolean", "null"] : "boolean" }, { enum: [0, 1] }];
  }
  return out;
}

function readTsv() {
  const rows = new Map();
  const lines = fs.readFileSync(tsvPath, "utf8").split("\n").slice(1);
  for (const l of lines) {
    if (!l.trim()) continue;
    const [path, method, prot, proxyto, allowtoken] = l.split("\t");
    rows.set(`${method} ${path}`, { path, method, prot: prot === "1", proxyto, allowtoken: allowtoken === "1" });
  }
  return rows;
}

function fill(path) {
  return path.replace(/\{([^}]*)\}/g, (_, n) => (n === "node" ? node : n === "vmid" ? "100" : `probe-${n}`));
}

async function request(method, path, headers = {}) {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), 20000);
  try {
    const r = await fetch(base + path, { method, headers, signal: ctl.signal });
    const text = await r.text();
    return { status: r.status, text };
  } catch (e) {
    return { status: 0, text: String(e) };
  } finally {
    clearTimeout(t);
  }
}

// run fn over items, at most n at a time
async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

async function main() {
  const ops = operations();

  // 1. the official OpenAPI 3.0 schema (swagger-parser validates OpenAPI 3 documents against
  //    it; it also resolves every $ref)
  try {
    await SwaggerParser.validate(structuredClone(doc));
    report("document valid against the OpenAPI 3.0 schema (swagger-parser)", []);
  } catch (e) {
    report("document valid against the OpenAPI 3.0 schema (swagger-parser)", String(e.message).split("\n"));
  }

  report("OpenAPI 3.0.x document with operations", [
    ...(/^3\.0\.\d+$/.test(doc.openapi || "") ? [] : [`openapi: ${doc.openapi}`]),
    ...(ops.length > 0 ? [] : ["no operations"]),
  ]);

  // 2. path keys: "/a/{b}/c", templates are whole components named like upstream's
  const badPaths = [];
  for (const path of Object.keys(doc.paths || {})) {
    if (path === "/") continue;
    if (!path.startsWith("/") || path.endsWith("/") || path.includes("//")) badPaths.push(`${path}: not normalized`);
    for (const c of path.split("/").slice(1))
      if (/[{}]/.test(c) && !/^\{[A-Za-z0-9_-]+\}$/.test(c)) badPaths.push(`${path}: component "${c}" is not a {param} template`);
      else if (/[:$<>]/.test(c)) badPaths.push(`${path}: component "${c}" looks like another template syntax`);
  }
  report("paths use {param} templates", badPaths);

  // 3. path parameters: one required "in: path" per template name, none extra; no duplicates
  const badParams = [];
  for (const o of ops) {
    const names = templateNames(o.path);
    const ps = o.op.parameters || [];
    const seen = new Set();
    for (const p of ps) {
      const key = `${p.in}:${p.name}`;
      if (seen.has(key)) badParams.push(`${o.method} ${o.path}: duplicate parameter ${key}`);
      seen.add(key);
      if (p.in === "path" && !names.includes(p.name)) badParams.push(`${o.method} ${o.path}: path parameter ${p.name} not in the template`);
      if (p.in === "path" && p.required !== true) badParams.push(`${o.method} ${o.path}: path parameter ${p.name} not required`);
    }
    for (const n of names)
      if (!ps.some((p) => p.in === "path" && p.name === n)) badParams.push(`${o.method} ${o.path}: template {${n}} has no path parameter`);
    const body = (((o.op.requestBody || {}).content || {})["application/json"] || {}).schema;
    for (const n of names)
      if (body && body.properties && n in body.properties) badParams.push(`${o.method} ${o.path}: {${n}} also in the request body`);
  }
  report("path parameters match the templates", badParams);

  // 4. operationIds
  const ids = new Map();
  const badIds = [];
  for (const o of ops) {
    const id = o.op.operationId;
    if (!id) badIds.push(`${o.method} ${o.path}: no operationId`);
    else if (ids.has(id)) badIds.push(`${id}: ${ids.get(id)} and ${o.method} ${o.path}`);
    else ids.set(id, `${o.method} ${o.path}`);
  }
  report("operationIds present and unique", badIds);

  // 5. schemas consistent in themselves (OpenAPI: defaults and enums of the declared type,
  //    patterns in ECMA-262; ajv compiles them with the unicode flag)
  const badSchemas = [];
  for (const o of ops)
    for (const [s, where] of operationSchemas(o)) {
      for (const r of s.required || []) if (!(s.properties || {})[r]) badSchemas.push(`${where}: required "${r}" is not a property`);
      if ("default" in s && !conforms(s, s.default)) badSchemas.push(`${where}: default ${JSON.stringify(s.default)} is not of type ${s.type}`);
      if ("default" in s && s.enum && !s.enum.includes(s.default)) badSchemas.push(`${where}: default ${JSON.stringify(s.default)} not in enum`);
      for (const e of s.enum || []) if (!conforms(s, e)) badSchemas.push(`${where}: enum value ${JSON.stringify(e)} is not of type ${s.type}`);
      if (s.minimum !== undefined && s.maximum !== undefined && s.minimum > s.maximum) badSchemas.push(`${where}: minimum > maximum`);
      if (s.pattern !== undefined)
        try {
          new RegExp(s.pattern, "u");
        } catch (e) {
          badSchemas.push(`${where}: pattern ${s.pattern}: ${e.message}`);
        }
    }
  report("schemas: required/default/enum/pattern consistent (ECMA-262 unicode patterns)", badSchemas);

  if (base === "-") return; // document checks only (the test's self-check)

  // 6. against upstream's endpoint list: every documented operation exists upstream, with
  //    the same protected/proxyto/allowtoken (allowtoken means nothing where no login is
  //    needed; the built-in index has no proxyto). GET / is the root index upstream serves
  //    too but its API viewer data does not list.
  const tsv = readTsv();
  const notUpstream = [];
  const badFlags = [];
  for (const o of ops) {
    const key = `${o.method} ${o.path}`;
    const up = tsv.get(key);
    if (!up) {
      if (key !== "GET /") notUpstream.push(key);
      continue;
    }
    const world = (o.op["x-permissions"] || {}).user === "world";
    if (!!o.op["x-protected"] !== up.prot) badFlags.push(`${key}: protected ${!!o.op["x-protected"]}, upstream ${up.prot}`);
    if (!world && !!o.op["x-allowtoken"] !== up.allowtoken) badFlags.push(`${key}: allowtoken ${!!o.op["x-allowtoken"]}, upstream ${up.allowtoken}`);
    if (!o.op["x-builtin-index"] && (o.op["x-proxyto"] || "") !== up.proxyto) badFlags.push(`${key}: proxyto "${o.op["x-proxyto"] || ""}", upstream "${up.proxyto}"`);
  }
  report("every documented operation is an upstream endpoint (api-endpoints.tsv)", notUpstream);
  report("protected/proxyto/allowtoken agree with api-endpoints.tsv", badFlags);

  // 7. what the server answers: every upstream endpoint, unauthenticated (no handler runs
  //    except the public ones, which all need parameters). 501 = not registered; anything
  //    else (401 after the failed-auth delay, 400, 200) = served. Concurrent, so the 3 s
  //    delays overlap.
  const rows = [...tsv.values()];
  const answers = await pool(rows, 200, (r) => request(r.method, fill(r.path)));
  const served = new Set();
  const odd = [];
  rows.forEach((r, i) => {
    const key = `${r.method} ${r.path}`;
    if (answers[i].status === 0) odd.push(`${key}: ${answers[i].text}`);
    else if (answers[i].status !== 501) served.add(key);
  });
  report("probe of every upstream endpoint answered", odd);
  const documented = new Set(ops.map((o) => `${o.method} ${o.path}`));
  report(
    `every served upstream endpoint is documented (${served.size} served)`,
    [...served].filter((k) => !documented.has(k)).map((k) => `${k}: served but not in the document`),
  );
  report(
    "every documented upstream operation is served",
    [...documented].filter((k) => tsv.has(k) && !served.has(k)).map((k) => `${k}: documented but answers 501`),
  );

  // 8. returns of GETs that need no parameters but the node: data matches the documented
  //    schema (root@pam's ticket; GET handlers change nothing)
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const gets = ops.filter((o) => {
    if (o.method !== "GET") return false;
    if (templateNames(o.path).some((n) => n !== "node")) return false;
    return !(o.op.parameters || []).some((p) => p.in !== "path" && p.required);
  });
  const badReturns = [];
  let checked = 0;
  await pool(gets, 8, async (o) => {
    const r = await request("GET", fill(o.path), { Cookie: `PVEAuthCookie=${ticket}` });
    if (r.status !== 200) return; // e.g. nothing to read on this test node
    let data;
    try {
      data = JSON.parse(r.text).data;
    } catch (e) {
      badReturns.push(`GET ${o.path}: not JSON: ${r.text.slice(0, 80)}`);
      return;
    }
    const schema = o.op.responses["200"].content["application/json"].schema.properties.data;
    const validate = ajv.compile(toJsonSchema(schema));
    checked++;
    if (!validate(data))
      badReturns.push(`GET ${o.path}: ${ajv.errorsText(validate.errors, { dataVar: "data" })} (${JSON.stringify(data).slice(0, 200)})`);
  });
  report(`returns of ${checked} parameterless GETs match their documented schema`, badReturns);
}

main().catch((e) => {
  console.log(`FAIL validator crashed`);
  console.log(`  ${e.stack}`);
});
