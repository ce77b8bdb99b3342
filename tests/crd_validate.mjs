// Validates custom resources against their CRD schemas with the kubernetes-models packages
// (package.json; `npm ci`). Called by tests/test_crd_schemas.py.
//
//   node tests/crd_validate.mjs --kinds          -> JSON list of the "apiVersion/kind" it validates
//   node tests/crd_validate.mjs < objects.json   -> JSON [{id, errors: [...]}, ...]
//
// stdin: [{"id": str, "object": {apiVersion, kind, metadata, spec, ...}}, ...]
//
// Two checks per object, both from the models generated from the CRDs:
// 1. schema: the model's `validate()` (ajv, compiled from the CRD's openAPIV3Schema): types,
//    required fields, enums, patterns. Like the CRD schema it ignores unknown fields, which the API
//    server prunes silently (or rejects under strict field validation);
// 2. unknown fields: each object is type-checked as an object literal of the model's TypeScript
//    interface, so a misspelled or misplaced field is an excess-property error.
// A kind without a model is an error ("no validator"), never a silent pass.

import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const ts = require("typescript");
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const PROM = "@kubernetes-models/prometheus-operator/monitoring.coreos.com";
const GKE = "@kubernetes-models/gke";
const ARGO = "@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1";

// "apiVersion/kind" -> module of its model (class `<kind>`, interface `I<kind>`)
const MODELS = {
  "monitoring.coreos.com/v1/PrometheusRule": `${PROM}/v1/PrometheusRule`,
  "monitoring.coreos.com/v1/ServiceMonitor": `${PROM}/v1/ServiceMonitor`,
  "monitoring.coreos.com/v1/PodMonitor": `${PROM}/v1/PodMonitor`,
  "monitoring.coreos.com/v1/Probe": `${PROM}/v1/Probe`,
  "monitoring.coreos.com/v1alpha1/AlertmanagerConfig": `${PROM}/v1alpha1/AlertmanagerConfig`,
  "monitoring.coreos.com/v1alpha1/ScrapeConfig": `${PROM}/v1alpha1/ScrapeConfig`,
  "cloud.google.com/v1/BackendConfig": `${GKE}/cloud.google.com/v1/BackendConfig`,
  "networking.gke.io/v1/ManagedCertificate": `${GKE}/networking.gke.io/v1/ManagedCertificate`,
  "networking.gke.io/v1beta1/FrontendConfig": `${GKE}/networking.gke.io/v1beta1/FrontendConfig`,
  "argoproj.io/v1alpha1/Rollout": `${ARGO}/Rollout`,
  "argoproj.io/v1alpha1/AnalysisTemplate": `${ARGO}/AnalysisTemplate`,
};

// VolumeSnapshotClass (kubernetes-csi/external-snapshotter, snapshot.storage.k8s.io/v1) has no
// model package on the registries. Its schema is small and GA-stable, so it is spelled out here
// from the API type (VolumeSnapshotClass: driver, parameters, deletionPolicy Delete|Retain, all
// top-level; driver and deletionPolicy required).
const LOCAL = {
  "snapshot.storage.k8s.io/v1/VolumeSnapshotClass": {
    iface: `interface IVolumeSnapshotClass {
      apiVersion: "snapshot.storage.k8s.io/v1"; kind: "VolumeSnapshotClass";
      metadata?: import("@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta").IObjectMeta;
      driver: string; deletionPolicy: "Delete" | "Retain"; parameters?: { [key: string]: string };
    }`,
    validate(o) {
      const errors = [];
      if (typeof o.driver !== "string" || !o.driver) errors.push("driver: required string");
      if (!["Delete", "Retain"].includes(o.deletionPolicy)) errors.push(`deletionPolicy: must be Delete or Retain, got ${JSON.stringify(o.deletionPolicy)}`);
      for (const [k, v] of Object.entries(o.parameters ?? {})) if (typeof v !== "string") errors.push(`parameters.${k}: must be a string`);
      return errors;
    },
  },
};

// Fields the current upstream CRD declares but the model package (generated from an older CRD)
// lacks. Each is added to the model's interface and checked here, with the upstream source named:
// BackendConfig v1 `spec.customResponseHeaders` (kubernetes/ingress-gce BackendConfigSpec,
// GKE 1.25+): `{headers: [string]}`, the same shape as `customRequestHeaders`.
const EXTENSIONS = {
  "cloud.google.com/v1/BackendConfig": {
    iface: "{ spec?: { customResponseHeaders?: { headers?: Array<string> } } }",
    validate(o) {
      const headers = o.spec?.customResponseHeaders?.headers ?? [];
      if (!Array.isArray(headers)) return ["/spec/customResponseHeaders/headers must be array"];
      return headers.filter((h) => typeof h !== "string").map(() => "/spec/customResponseHeaders/headers items must be string");
    },
  },
};

const key = (o) => `${o?.apiVersion}/${o?.kind}`;

async function schemaErrors(obj) {
  const k = key(obj);
  if (LOCAL[k]) return LOCAL[k].validate(obj);
  const mod = await import(MODELS[k]);
  const extra = EXTENSIONS[k]?.validate(obj) ?? [];
  try {
    new mod[obj.kind](obj).validate();
    return extra;
  } catch (err) {
    const details = (err.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}${e.params ? " " + JSON.stringify(e.params) : ""}`);
    return details.length ? details : [String(err.message ?? err)];
  }
}

// One virtual TypeScript file: `const o<i>: I<Kind> = <object>;` per object; diagnostics are
// mapped back to objects by line.
function unknownFieldErrors(items) {
  const lines = [];
  const imports = new Map();
  const spans = [];
  items.forEach(({ object }, i) => {
    const k = key(object);
    let type;
    if (LOCAL[k]) {
      type = `IVolumeSnapshotClass`;
      imports.set(k, LOCAL[k].iface);
    } else {
      type = `I${object.kind}_${i}`;
      const base = `I${object.kind}_${i}_model`;
      lines.push(`import type { I${object.kind} as ${base} } from "${MODELS[k]}";`);
      lines.push(`type ${type} = ${base}${EXTENSIONS[k] ? ` & ${EXTENSIONS[k].iface}` : ""};`);
    }
    spans.push({ type, object });
  });
  for (const iface of imports.values()) lines.push(iface.replace(/\n\s*/g, " "));
  // every entry of `lines` is one line so far; each object literal spans several
  const ranges = [];
  spans.forEach(({ type, object }, i) => {
    const literal = `export const o${i}: ${type} = ${JSON.stringify(object, null, 1)};`.split("\n");
    ranges.push([lines.length, lines.length + literal.length - 1]);
    lines.push(...literal);
  });
  const text = lines.join("\n");
  const fileName = path.join(root, "__crd_check__.ts");
  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    path.resolve(name) === fileName ? ts.createSourceFile(name, text, lang) : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  const source = program.getSourceFile(fileName);
  const errors = items.map(() => []);
  const global = [];
  for (const d of ts.getPreEmitDiagnostics(program, source)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, " ");
    if (d.file && d.start !== undefined) {
      const line = d.file.getLineAndCharacterOfPosition(d.start).line;
      const index = ranges.findIndex(([a, b]) => line >= a && line <= b);
      if (index >= 0) {
        errors[index].push(`line ${line - ranges[index][0] + 1}: ${message}`);
        continue;
      }
    }
    global.push(message);
  }
  if (global.length) throw new Error(`type check could not run: ${global.join("; ")}`);
  return errors;
}

async function main() {
  if (process.argv.includes("--kinds")) {
    process.stdout.write(JSON.stringify([...Object.keys(MODELS), ...Object.keys(LOCAL)].sort()));
    return;
  }
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const items = JSON.parse(input);
  const known = items.filter(({ object }) => MODELS[key(object)] || LOCAL[key(object)]);
  const typed = unknownFieldErrors(known);
  const results = [];
  for (const item of items) {
    const k = key(item.object);
    if (!MODELS[k] && !LOCAL[k]) {
      results.push({ id: item.id, errors: [`no validator for ${k}`] });
      continue;
    }
    const index = known.indexOf(item);
    results.push({ id: item.id, errors: [...(await schemaErrors(item.object)), ...typed[index]] });
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err) + "\n");
  process.exit(2);
});
