#!/usr/bin/env bash
# The packaging in deploy/ matches the server: the Kubernetes manifests (probes on /health and
# /ready at the container port that CORRAL_HOST binds, a preStop pause and a grace period longer
# than it plus the drain, the store volume where CORRAL_MODELS points, the Service's selector and
# target port, the HPA on the Deployment and on a metric /metrics really has), the Containerfile
# (port, user, stop signal, health check) and the systemd unit and install script (user, store,
# Restart=on-failure, reload by SIGHUP, stop timeout over the drain). Every CORRAL_/OLLAMA_
# variable they set must be one the server reads. Then a real `corral serve` with the manifest's
# environment answers the probe paths as the manifests expect.
set -euo pipefail
BIN=${CORRAL_BIN:?} SHARED=${CORRAL_SHARED_DIR:?} SRC=${CORRAL_SOURCE_DIR:?}
tmp=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/server.log" ] && tail -10 "$tmp/server.log"; exit 1; }

# Static checks; prints the environment a pod gets, for the live check below.
python3 - "$SRC" >"$tmp/pod.env" <<'PY' || fail "manifests"
import configparser, re, sys, yaml, pathlib
src = pathlib.Path(sys.argv[1])
dep = src / "deploy"
errors = []
def check(cond, what):
    if not cond: errors.append(what)
def duration_s(v):
    m = re.fullmatch(r"(\d+)(s|m)?", str(v))
    return int(m.group(1)) * (60 if m.group(2) == "m" else 1)
docs = {d["kind"]: d for d in yaml.safe_load_all(open(dep / "kubernetes/corral.yaml")) if d}
for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PersistentVolumeClaim"):
    check(kind in docs, f"no {kind}")
d = docs["Deployment"]; pod = d["spec"]["template"]; c = pod["spec"]["containers"][0]
env = {e["name"]: e.get("value") for e in c["env"]}
port = int(env["CORRAL_HOST"].rsplit(":", 1)[1])
named = {p["name"]: p["containerPort"] for p in c["ports"]}
check(named.get("http") == port, f"container port {named} != CORRAL_HOST port {port}")
def probe_port(p): return named.get(p["httpGet"]["port"], p["httpGet"]["port"])
check(c["livenessProbe"]["httpGet"]["path"] == "/health" and probe_port(c["livenessProbe"]) == port, "liveness probe")
check(c["readinessProbe"]["httpGet"]["path"] == "/ready" and probe_port(c["readinessProbe"]) == port, "readiness probe")
check(c.get("startupProbe", {}).get("httpGet", {}).get("path") in (None, "/health"), "startup probe")
pre = " ".join(c["lifecycle"]["preStop"]["exec"]["command"])
m = re.search(r"sleep (\d+)", pre)
check(m is not None, f"preStop does not pause: {pre}")
drain = duration_s(env.get("CORRAL_DRAIN_TIMEOUT", "30s"))
check(pod["spec"]["terminationGracePeriodSeconds"] > drain + (int(m.group(1)) if m else 0),
      "terminationGracePeriodSeconds must exceed preStop + CORRAL_DRAIN_TIMEOUT")
mounts = {v["name"]: v["mountPath"] for v in c["volumeMounts"]}
check(any(env["CORRAL_MODELS"].startswith(p) for p in mounts.values()), "CORRAL_MODELS is not on a mounted volume")
claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"] if "persistentVolumeClaim" in v]
check(docs["PersistentVolumeClaim"]["metadata"]["name"] in claims, "the store volume's claim is not the PVC")
svc = docs["Service"]["spec"]
check(svc["selector"].items() <= pod["metadata"]["labels"].items(), "Service selector does not match the pods")
check(svc["ports"][0]["targetPort"] in ("http", port), "Service targetPort")
check(d["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items(), "Deployment selector")
hpa = docs["HorizontalPodAutoscaler"]["spec"]
check(hpa["scaleTargetRef"]["kind"] == "Deployment" and hpa["scaleTargetRef"]["name"] == d["metadata"]["name"], "HPA target")
metric = hpa["metrics"][0]["pods"]["metric"]["name"]
ann = pod["metadata"].get("annotations", {})
check(ann.get("prometheus.io/path") == "/metrics" and int(ann.get("prometheus.io/port", 0)) == port, "scrape annotations")
run_as = pod["spec"]["securityContext"]["runAsUser"]

cf = (dep / "Containerfile").read_text()
check(re.search(rf"^EXPOSE {port}$", cf, re.M) is not None, "Containerfile EXPOSE")
check(re.search(rf"CORRAL_HOST=0\.0\.0\.0:{port}\b", cf) is not None, "Containerfile CORRAL_HOST")
check(re.search(r"^STOPSIGNAL SIGTERM$", cf, re.M) is not None, "Containerfile STOPSIGNAL")
check(re.search(rf"HEALTHCHECK .*127\.0\.0\.1:{port}/health", cf) is not None, "Containerfile HEALTHCHECK")
check(re.search(rf"--uid {run_as}\b", cf) is not None and re.search(r"^USER corral$", cf, re.M) is not None,
      "Containerfile user != the pod's runAsUser")
check(f"CORRAL_MODELS={env['CORRAL_MODELS']}" in cf, "Containerfile CORRAL_MODELS")

unit = configparser.ConfigParser(strict=False, interpolation=None)
unit.optionxform = str
unit.read_string(re.sub(r"^(Environment)=(.*)$", lambda m: "", (dep / "systemd/corral.service").read_text(), flags=re.M))
svcu = unit["Service"]
uenv = dict(l.split("=", 2)[1:] for l in (dep / "systemd/corral.service").read_text().splitlines() if l.startswith("Environment="))
check(svcu["User"] == "corral" and svcu["Restart"] == "on-failure", "unit User/Restart")
check(svcu["ExecStart"].split() == ["/usr/local/bin/corral", "serve"], "unit ExecStart")
check("-HUP" in svcu["ExecReload"], "unit ExecReload is not SIGHUP")
check(svcu.get("KillSignal", "SIGTERM") == "SIGTERM", "unit KillSignal")
check(uenv["CORRAL_MODELS"].startswith("/var/lib/corral/"), "unit store not under /var/lib/corral")
check(int(svcu["TimeoutStopSec"]) > duration_s(uenv.get("CORRAL_DRAIN_TIMEOUT", "30s")), "TimeoutStopSec <= drain")
inst = (dep / "install.sh").read_text()
check("/usr/local/bin/corral" in inst and "useradd --system" in inst and "/var/lib/corral" in inst, "install.sh")

# Every variable they set is one the server reads (a literal in src/).
sources = "\n".join(p.read_text(errors="replace") for p in (src / "src").rglob("*.cpp"))
used = set(env) | set(uenv) | set(re.findall(r"\b((?:CORRAL|OLLAMA)_[A-Z_]+)=", cf))
for name in sorted(used):
    check(f'"{name}"' in sources, f"{name} is set by the packaging but never read by the server")
if errors:
    print("\n".join(errors), file=sys.stderr); sys.exit(1)
for k, v in env.items():
    if v is not None: print(f"{k}={v}")
print(f"METRIC={metric}")
PY
metric=$(sed -n 's/^METRIC=//p' "$tmp/pod.env")

# Live: the pod's environment (its preload name mapped to a local model, port 0), then the
# probes answer as the manifests expect, and the HPA's metric is on /metrics.
preload=$(sed -n 's/^CORRAL_PRELOAD=//p' "$tmp/pod.env")
while IFS='=' read -r k v; do [ "$k" = METRIC ] || export "$k=$v"; done <"$tmp/pod.env"
export CORRAL_HOST=127.0.0.1:0 CORRAL_MODELS=$tmp/models CORRAL_PORT_FILE=$tmp/port
export CORRAL_MODEL_PATHS="$preload=$SHARED/models/stories260K.gguf"
"$BIN" serve >"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || fail "server did not start with the pod's environment"
URL=http://127.0.0.1:$(cat "$tmp/port")
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health")" = 200 ] || fail "/health"
for _ in $(seq 100); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/ready")" = 200 ] && break; sleep 0.1; done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/ready")" = 200 ] || fail "/ready after preloading $preload"
curl -s "$URL/metrics" | grep -q "^$metric " || fail "the HPA's metric $metric is not on /metrics"
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
[ "$rc" = 0 ] || fail "SIGTERM exit $rc"
# A model that cannot load keeps the pod alive but not ready.
export CORRAL_MODEL_PATHS= CORRAL_PRELOAD=missing-model
rm -f "$tmp/port"
"$BIN" serve >"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
URL=http://127.0.0.1:$(cat "$tmp/port")
sleep 0.3
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/health")" = 200 ] || fail "/health with a failed preload"
curl -s "$URL/ready" | grep -q '"failed to load missing-model"' || fail "/ready with a failed preload: $(curl -s "$URL/ready")"

# install.sh into a scratch root.
DESTDIR=$tmp/root bash "$SRC/deploy/install.sh" "$BIN" >/dev/null || fail "install.sh"
for f in usr/local/bin/corral etc/systemd/system/corral.service etc/corral/log-level etc/corral/corral.env; do
  [ -f "$tmp/root/$f" ] || fail "install.sh did not install $f"
done
[ -d "$tmp/root/var/lib/corral/models" ] || fail "install.sh did not create the store"
cmp -s "$tmp/root/etc/systemd/system/corral.service" "$SRC/deploy/systemd/corral.service" || fail "installed unit differs"
echo "deploy_manifests: ok (port, probes, drain timing, volume, Service, HPA on $metric, Containerfile, systemd unit, install.sh)"
