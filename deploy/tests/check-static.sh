#!/usr/bin/env bash
# Static checks of the deploy kit, each by a real parser or validator:
#   promtool check config / check rules / test rules   Prometheus files
#   promtool check rules on the dashboard's queries     Grafana PromQL syntax
#   kubernetes-validate --strict                        Kubernetes manifests (bundled OpenAPI schemas, offline)
#   kubectl kustomize (when installed)                  the PostgreSQL overlay rendered, then validated
#   docker compose config -q                            docker-compose.yml (compose-go, no engine needed)
#   hadolint                                            Dockerfile
#   PyYAML                                              every YAML file parses
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
need python3
need promtool
need kubernetes-validate
need hadolint

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

step "YAML: every file under deploy/ and docker-compose.yml parses"
python3 - deploy docker-compose.yml <<'PY'
import pathlib, sys, yaml
files = [p for a in sys.argv[1:] for p in (sorted(pathlib.Path(a).rglob("*.y*ml")) if pathlib.Path(a).is_dir() else [pathlib.Path(a)])]
for f in files:
    list(yaml.safe_load_all(f.read_text()))
print(f"    ok: {len(files)} YAML files parse")
PY

step "Prometheus: promtool $(promtool --version 2>&1 | head -n1 | awk '{print $3}')"
promtool check config deploy/prometheus/prometheus.yml
promtool check rules deploy/prometheus/alerts.yml
promtool test rules deploy/prometheus/alerts_test.yml

step "Grafana: dashboard JSON structure and PromQL syntax"
python3 - "$work/dashboard_rules.yml" deploy/grafana/dashboards/*.json <<'PY'
import json, re, sys
out, paths = sys.argv[1], sys.argv[2:]
rules = []
for path in paths:
    with open(path) as f:
        dash = json.load(f)
    for key in ("uid", "title", "panels", "schemaVersion"):
        assert key in dash, f"{path}: no {key!r}"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)), f"{path}: duplicate panel ids"
    for panel in dash["panels"]:
        assert panel.get("targets"), f"{path}: panel {panel['title']!r} has no query"
        for t in panel["targets"]:
            expr = t["expr"]
            # Grafana's variables, as Grafana would substitute them.
            expr = expr.replace("$__rate_interval", "1m").replace("$job", ".+").replace("$instance", ".+")
            assert "$" not in expr, f"{path}: unknown variable in {t['expr']!r}"
            rules.append({"record": f"dashboard:check:{len(rules)}", "expr": expr})
    print(f"    ok: {path}: {len(dash['panels'])} panels, {len(rules)} queries so far")
with open(out, "w") as f:
    json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
PY
promtool check rules "$work/dashboard_rules.yml"
for f in deploy/grafana/provisioning/*/*.yml; do
  python3 -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); assert d["apiVersion"] == 1, sys.argv[1]' "$f"
done
ok "provisioning files have apiVersion 1"

step "Kubernetes: kubernetes-validate $(kubernetes-validate --version) --strict (schemas bundled, offline)"
manifests=()
for f in deploy/k8s/*.yaml; do
  [ "$(basename "$f")" = kustomization.yaml ] || manifests+=("$f")
done
kubernetes-validate --strict "${manifests[@]}"
python3 - deploy/k8s <<'PY'
import pathlib, sys, yaml
base = pathlib.Path(sys.argv[1])
k = yaml.safe_load((base / "kustomization.yaml").read_text())
assert k["kind"] == "Kustomization"
listed = set(k["resources"])
present = {p.name for p in base.glob("*.yaml")} - {"kustomization.yaml"}
assert listed == present, f"kustomization resources {sorted(listed)} != files {sorted(present)}"
# The invariants the design depends on, beyond the schema.
docs = {d["kind"]: d for p in present for d in yaml.safe_load_all((base / p).read_text())}
spec = docs["Deployment"]["spec"]
assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate", "one replica, Recreate (SQLite has one writer)"
pod = spec["template"]["spec"]
c = pod["containers"][0]
assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] == 10001
assert c["securityContext"]["readOnlyRootFilesystem"] is True
assert c["livenessProbe"]["httpGet"]["path"] == "/health/live"
assert c["readinessProbe"]["httpGet"]["path"] == "/health/ready"
assert pod["terminationGracePeriodSeconds"] >= 35
assert "requests" in c["resources"] and "limits" in c["resources"]
assert docs["PersistentVolumeClaim"]["spec"]["accessModes"] == ["ReadWriteOnce"]
print(f"    ok: kustomization lists all {len(present)} manifests; 1 replica, Recreate, non-root, read-only root, probes")
PY

step "Kubernetes: the PostgreSQL overlay (deploy/k8s-postgres)"
kubernetes-validate --strict deploy/k8s-postgres/database-secret.example.yaml deploy/k8s-postgres/pdb.yaml
if command -v kubectl >/dev/null 2>&1; then
  # Render it as `kubectl apply -k` would, and validate every rendered object.
  rendered="$work/k8s-postgres"
  mkdir -p "$rendered"
  kubectl kustomize deploy/k8s-postgres >"$rendered/all.yaml"
  python3 - "$rendered" <<'PY'
import pathlib, sys, yaml
out = pathlib.Path(sys.argv[1])
for i, d in enumerate(yaml.safe_load_all((out / "all.yaml").read_text())):
    (out / f"{i:02d}-{d['kind']}.yaml").write_text(yaml.safe_dump(d))
PY
  rm "$rendered/all.yaml"
  kubernetes-validate --strict "$rendered"/*.yaml
  render_source="kubectl kustomize"
else
  rendered=""
  render_source="the patches (kubectl not installed: not rendered)"
fi
python3 - deploy/k8s-postgres "$rendered" <<'PY'
import pathlib, sys, yaml
overlay = pathlib.Path(sys.argv[1])
k = yaml.safe_load((overlay / "kustomization.yaml").read_text())
assert k["kind"] == "Kustomization" and "../k8s" in k["resources"], "overlay of ../k8s"
files = set(k["resources"]) - {"../k8s"} | {p["path"] for p in k["patches"]}
present = {p.name for p in overlay.glob("*.yaml")} - {"kustomization.yaml"}
assert files == present, f"overlay lists {sorted(files)} != files {sorted(present)}"
if sys.argv[2]:
    docs = [yaml.safe_load(p.read_text()) for p in sorted(pathlib.Path(sys.argv[2]).glob("*.yaml"))]
    kinds = {d["kind"]: d for d in docs}
    assert "PersistentVolumeClaim" not in kinds, "no volume on PostgreSQL"
    spec = kinds["Deployment"]["spec"]
    pod = spec["template"]["spec"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    volumes = {v["name"] for v in pod.get("volumes", [])}
else:
    spec = yaml.safe_load((overlay / "deployment-patch.yaml").read_text())["spec"]
    env = {e["name"]: e for e in spec["template"]["spec"]["containers"][0]["env"]}
    volumes = set()
    assert yaml.safe_load((overlay / "pvc-delete.yaml").read_text())["$patch"] == "delete"
assert spec["replicas"] >= 2 and spec["strategy"]["type"] == "RollingUpdate", "stateless replicas, rolled"
assert "value" not in env["DATABASE_URL"] or env["DATABASE_URL"]["value"] is None
assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "DATABASE_URL", "DATABASE_URL from a Secret"
assert "data" not in volumes, "the SQLite data volume is gone"
print(f"    ok: {spec['replicas']} replicas, RollingUpdate, DATABASE_URL from a Secret, no PVC")
PY
ok "PostgreSQL overlay checked from $render_source"

step "Compose: $(compose version 2>/dev/null | head -n1)"
WEBHOOK_SECRET=check compose -f docker-compose.yml config -q
ok "docker-compose.yml is valid (with WEBHOOK_SECRET set)"
(unset WEBHOOK_SECRET LOG_LEVEL; compose -f docker-compose.yml config -q)
ok "docker-compose.yml is valid without WEBHOOK_SECRET (make down/logs work in any shell)"
WEBHOOK_SECRET=check compose -f docker-compose.yml --profile monitoring config -q
ok "the monitoring profile (prometheus, grafana) is valid"
WEBHOOK_SECRET=check compose -f docker-compose.yml config --format json | python3 -c '
import json, sys
api = json.load(sys.stdin)["services"]["api"]
assert api["environment"]["DATABASE_URL"] == "sqlite:////data/app.db"
assert api["environment"]["WEBHOOK_SECRET"] == "check", "WEBHOOK_SECRET comes from the host"
assert any(p["target"] == 8000 and str(p["published"]) == "8000" for p in api["ports"])
assert any(v["type"] == "volume" and v["target"] == "/data" for v in api["volumes"])
assert api["healthcheck"]["test"][-2:] == ["healthcheck", "/health/ready"], "compose probes readiness"
print("    ok: api: port 8000, DATABASE_URL on the /data volume, secret from the host, healthcheck")'

WEBHOOK_SECRET=check compose -f docker-compose.yml --profile postgres config -q
WEBHOOK_SECRET=check compose -f docker-compose.yml --profile postgres config --format json | python3 -c '
import json, sys
services = json.load(sys.stdin)["services"]
api = services["api-postgres"]
assert api["environment"]["DATABASE_URL"].startswith("postgres://"), "api-postgres uses PostgreSQL"
assert "volumes" not in api or not any(v.get("target") == "/data" for v in api["volumes"]), "stateless"
assert services["postgres"]["healthcheck"]["test"][1:2] == ["pg_isready"] or "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
print("    ok: the postgres profile: PostgreSQL, and api-postgres replicas on it")'
ok "the postgres profile (postgres, api-postgres) is valid"

step "Dockerfile: $(hadolint --version)"
hadolint Dockerfile
ok "hadolint: no findings"

echo
echo "static deploy checks: all passed"
