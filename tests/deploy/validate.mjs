// validate.mjs - validate Kubernetes objects offline against the API schemas.
//
// Reads a multi-document YAML stream (the output of `kubectl kustomize`) on stdin and checks
// every object with the kubernetes-models validators: the built-in kinds with
// kubernetes-models, ServiceMonitor and PrometheusRule with the prometheus-operator models.
// Prints one line per object ("ok Kind/name" or "invalid Kind/name: why") and exits 1 when any
// object is invalid or of a kind it has no schema for. Used by tests/integration/test_deploy.py.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

function modulePath(apiVersion) {
  if (apiVersion.startsWith("monitoring.coreos.com/")) {
    return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  }
  return `kubernetes-models/${apiVersion}`;  // "v1", "apps/v1", "policy/v1", ...
}

const docs = parseAllDocuments(readFileSync(0, "utf8"));
let failed = 0;
for (const doc of docs) {
  if (doc.errors.length) {
    console.log(`invalid YAML: ${doc.errors[0].message}`);
    failed++;
    continue;
  }
  const obj = doc.toJS();
  if (obj === null) continue;
  const name = `${obj.kind}/${obj.metadata?.name ?? "?"}`;
  let Model;
  try {
    Model = (await import(modulePath(String(obj.apiVersion))))[obj.kind];
  } catch {
    Model = undefined;
  }
  if (typeof Model !== "function") {
    console.log(`invalid ${name}: no schema for ${obj.apiVersion} ${obj.kind}`);
    failed++;
    continue;
  }
  try {
    new Model(obj).validate();
    console.log(`ok ${name}`);
  } catch (e) {
    console.log(`invalid ${name}: ${e.message.replace(/\s+/g, " ")}`);
    failed++;
  }
}
if (docs.length === 0) {
  console.log("no objects");
  failed++;
}
process.exit(failed ? 1 : 0);
