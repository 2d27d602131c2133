#!/usr/bin/env python3
"""The fleet test's clients and phases (run by fleet.sh, which starts PostgreSQL and HAProxy).

Clients: N threads, each sending requests back to back through HAProxy: /api/chat and
/v1/chat/completions, streaming and not, two model names that the hash puts on different
servers, each request with an X-Request-Id; a submitter thread queues jobs beside them. Phases:
  A  steady load; afterwards every server's /metrics delta (requests by route and status,
     generated tokens) must equal what the clients (and the jobs) saw from it;
  B  rolling restart: each server in turn gets SIGTERM, drains, exits 0 and starts again;
     no request may fail;
  C  kill -9 of the server that serves the first model, with requests in flight on it: the
     requests that fail must be exactly those it had begun and not finished (its access log,
     CORRAL_ACCESS_LOG: "access begin <id>" without "access end <id>"), HAProxy must mark it
     down within 2 s, and every request started after the kill must succeed.
Then every job must have finished exactly once, and every job call in flight on the killed
server must be a lost run (one that ran again elsewhere). Not the converse: the killed server may
have claimed a job and not yet called the model, or had the answer and not yet recorded it, and
on a loaded machine a live server's 2 s lease can lapse before it is renewed (another server then
runs the job and the late one's result is refused); such runs are counted, not failed. Around the kill (and between phases) clients
hold back new requests until every request under way has reached its server, so that the
in-flight set is not blurred by requests in transit.
"""
import argparse, collections, http.client, json, os, re, signal, socket, subprocess, sys, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--bin"); ap.add_argument("--tmp"); ap.add_argument("--haproxy"); ap.add_argument("--stats")
ap.add_argument("--ports", nargs=3, type=int); ap.add_argument("--pg")
ap.add_argument("--clients", type=int); ap.add_argument("--phase-s", type=float)
A = ap.parse_args()
HP = A.haproxy.split("//")[1]
HA_HOST, HA_PORT = HP.split(":")[0], int(HP.split(":")[1])
MODELS = []  # two of m1..m6 that the hash puts on different servers
ROUTES = ["/api/chat", "/v1/chat/completions"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def die(what):
    print("FAIL:", what, flush=True)
    for s in servers.values():
        s.stop_hard()
    sys.exit(1)


def sql(q):
    out = subprocess.run(A.pg.split() + ["-tAq", "-c", q], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        die(f"psql: {out.stderr}")
    return out.stdout.strip()


def http_get(port, path, timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


class Server:
    def __init__(self, name, port):
        self.name, self.port, self.proc = name, port, None
        self.log = os.path.join(A.tmp, f"server_{name}.log")

    def start(self):
        env = dict(os.environ, CORRAL_HOST=f"127.0.0.1:{self.port}", CORRAL_MODELS=os.path.join(A.tmp, "models_" + self.name))
        self.log_offset = os.path.getsize(self.log) if os.path.exists(self.log) else 0
        self.proc = subprocess.Popen([A.bin, "serve"], env=env, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)

    def wait_ready(self, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            try:
                if http_get(self.port, "/ready", 1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        die(f"{self.name} not ready")

    def metrics(self):
        st, text = http_get(self.port, "/metrics")
        assert st == 200
        reqs, tokens = collections.Counter(), 0
        for line in text.splitlines():
            m = re.match(r'corral_requests_total\{route="([^"]+)",status="(\d+)"\} (\d+)', line)
            if m:
                reqs[(m.group(1), int(m.group(2)))] = int(m.group(3))
            if line.startswith("corral_generated_tokens_total "):
                tokens = int(line.split()[1])
        return reqs, tokens

    def stop_hard(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def access_log(self):
        """Request ids begun, and ended, in this run's access log."""
        with open(self.log, "rb") as f:
            f.seek(self.log_offset)
            text = f.read().decode(errors="replace")
        begun, ended = set(), set()
        for m in re.finditer(r"access (begin|end) (\S+) ", text):
            (begun if m.group(1) == "begin" else ended).add(m.group(2))
        return begun, ended

    def access_in_flight(self):
        begun, ended = self.access_log()
        return begun - ended


def haproxy_status():
    s = socket.socket(socket.AF_UNIX)
    s.connect(A.stats)
    s.sendall(b"show stat\n")
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    lines = data.decode().splitlines()
    head = lines[0].lstrip("# ").split(",")
    out = {}
    for l in lines[1:]:
        row = dict(zip(head, l.split(",")))
        if row.get("pxname") in ("corral", "jobs") and row.get("svname", "").startswith("s"):
            out.setdefault(row["svname"], []).append(row["status"].split(" ")[0])
    return out  # server -> its state in each backend (models by hash, jobs round robin)


def wait_haproxy(name, want, timeout):
    t0 = time.time()
    while time.time() - t0 < timeout:
        states = haproxy_status().get(name, [])
        if len(states) == 2 and all(st == want for st in states):
            return time.time() - t0
        time.sleep(0.02)
    return None


servers = {f"s{i + 1}": Server(f"s{i + 1}", p) for i, p in enumerate(A.ports)}
for s in servers.values():
    s.start()
for s in servers.values():
    s.wait_ready()
for n in servers:
    if wait_haproxy(n, "UP", 10) is None:
        die(f"haproxy never saw {n} up: {haproxy_status()}")

# Which server each model name hashes to (a cheap /api/show through HAProxy).
placement = {}
for m in ["m1", "m2", "m3", "m4", "m5", "m6"]:
    c = http.client.HTTPConnection(HA_HOST, HA_PORT, timeout=10)
    c.request("POST", "/api/show", json.dumps({"model": m}), {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    placement[m] = r.getheader("X-Served-By")
    c.close()
MODELS.append("m1")
MODELS.append(next((m for m in placement if placement[m] != placement["m1"]), "m2"))
print(f"models by hash: {placement}; using {MODELS[0]} ({placement[MODELS[0]]}) and {MODELS[1]} ({placement[MODELS[1]]})",
      flush=True)

# ---- clients -------------------------------------------------------------------------------
cv = threading.Condition()
gate_open, busy, stop, phase = True, 0, False, "warmup"
results = []  # dicts, appended under cv
active = {}  # request id -> model (or "submit") of the requests under way, under cv
jobs_by_phase = collections.defaultdict(list)
refused_submits = []  # job submissions answered 503 once (then retried), under cv
events = []  # (seconds from the start, what the driver did): printed beside a failure


def one_request(cid, n, ph, rid, model):
    route = ROUTES[(cid // 2 + n) % 2]
    stream = (cid + n // 2) % 2 == 0
    rec = {"id": rid, "phase": ph, "model": model, "route": route, "stream": stream, "ok": False, "served": None,
           "tokens": 0, "status": 0, "t0": time.time()}
    if route == "/api/chat":
        body = {"model": model, "messages": [{"role": "user", "content": f"Tell story {n}"}], "stream": stream,
                "options": {"num_predict": 12, "temperature": 0}}
    else:
        body = {"model": model, "messages": [{"role": "user", "content": f"Tell story {n}"}], "stream": stream,
                "max_tokens": 12, "temperature": 0}
        if stream:
            body["stream_options"] = {"include_usage": True}
    c = http.client.HTTPConnection(HA_HOST, HA_PORT, timeout=90)
    try:
        c.request("POST", route, json.dumps(body), {"Content-Type": "application/json", "X-Request-Id": rid})
        r = c.getresponse()
        rec["status"], rec["served"] = r.status, r.getheader("X-Served-By")
        if r.status != 200:
            rec["error"] = r.read()[:200].decode(errors="replace")
            return rec
        if not stream:
            j = json.loads(r.read())
            rec["tokens"] = j["eval_count"] if route == "/api/chat" else j["usage"]["completion_tokens"]
            rec["ok"] = j.get("done", True) is True
            return rec
        done = False
        while True:
            line = r.readline()
            if not line:
                break
            line = line.decode().strip()
            if route == "/api/chat" and line:
                j = json.loads(line)
                if j.get("done"):
                    done, rec["tokens"] = True, j["eval_count"]
            elif line.startswith("data: "):
                if line == "data: [DONE]":
                    done = True
                else:
                    j = json.loads(line[6:])
                    if j.get("usage"):
                        rec["tokens"] = j["usage"]["completion_tokens"]
        rec["ok"] = done
        if not done:
            rec["error"] = "stream ended early"
    except Exception as e:  # a cut connection, a bad body
        rec["error"] = repr(e)[:200]
    finally:
        rec["t1"] = time.time()
        c.close()
    return rec


def client(cid):
    global busy
    n = 0
    while True:
        with cv:
            while not gate_open and not stop:
                cv.wait()
            if stop:
                return
            busy += 1
            ph = phase
            rid, model = f"{ph}-{cid}-{n}", MODELS[(cid + n) % 2]
            active[rid] = model
        try:
            rec = one_request(cid, n, ph, rid, model)
        finally:
            with cv:
                results.append(rec)
                del active[rid]
                busy -= 1
                cv.notify_all()
        n += 1


def submitter():
    global busy
    n = 0
    while True:
        with cv:
            while not gate_open and not stop:
                cv.wait()
            if stop:
                return
            busy += 1
            ph = phase
            rid = f"submit-{n}"
            active[rid] = "submit"
        try:
            body = {"type": "generate", "request": {"model": MODELS[n % 2], "prompt": f"Job {n}:",
                                                    "options": {"num_predict": 24, "temperature": 0}}}
            # A 503 is a refusal (nothing was queued) and says "try again": a client does, once.
            for attempt in (1, 2):
                c = http.client.HTTPConnection(HA_HOST, HA_PORT, timeout=30)
                c.request("POST", "/api/jobs", json.dumps(body),
                          {"Content-Type": "application/json", "X-Request-Id": f"{rid}-{attempt}"})
                r = c.getresponse()
                data = r.read()
                c.close()
                why = (ph, rid, r.status, r.getheader("X-Served-By"), round(time.time() - t_start, 2),
                       data[:160].decode(errors="replace"))
                if r.status != 503 or attempt == 2:
                    break
                with cv:
                    refused_submits.append(why)
                time.sleep(0.5)
            with cv:
                if r.status == 202:
                    jobs_by_phase[ph].append(json.loads(data)["id"])
                else:
                    jobs_by_phase["failed_submit"].append(why)
        except Exception as e:
            with cv:
                jobs_by_phase["failed_submit"].append((ph, rid, repr(e)[:160], round(time.time() - t_start, 2)))
        finally:
            with cv:
                del active[rid]
                busy -= 1
                cv.notify_all()
        n += 1
        time.sleep(0.04)


def hold():
    """Stops new requests and waits for the ones under way to end."""
    global gate_open
    with cv:
        gate_open = False
        if not cv.wait_for(lambda: busy == 0, timeout=120):
            die(f"clients did not finish ({busy} busy)")


def release(ph):
    global gate_open, phase
    with cv:
        phase, gate_open = ph, True
        cv.notify_all()


def wait_jobs_done(timeout):
    end = time.time() + timeout
    while time.time() < end:
        if sql("SELECT count(*) FROM jobs WHERE status IN ('queued','running')") == "0":
            return True
        time.sleep(0.2)
    return False


def phase_results(ph):
    with cv:
        return [r for r in results if r["phase"] == ph]


t_start = time.time()
threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(A.clients)]
threads.append(threading.Thread(target=submitter, daemon=True))
hold()  # start them all gated
for t in threads:
    t.start()

# ---- phase A: steady load, /metrics reconciled -----------------------------------------------
before = {n: s.metrics() for n, s in servers.items()}
release("A")
time.sleep(A.phase_s)
hold()
check(wait_jobs_done(60), "phase A jobs did not finish")
after = {n: s.metrics() for n, s in servers.items()}
ra = phase_results("A")
bad = [r for r in ra if not r["ok"]]
check(not bad, f"phase A: {len(bad)} failed requests: {bad[:3]}")
job_tokens = 0
for jid in jobs_by_phase["A"]:
    res = sql(f"SELECT result FROM jobs WHERE id='{jid}'")
    job_tokens += json.loads(res)["eval_count"] if res else 0
client_tokens = sum(r["tokens"] for r in ra if r["ok"])
metric_tokens = sum(after[n][1] - before[n][1] for n in servers)
seen = collections.Counter((r["served"], r["route"]) for r in ra if r["ok"])
for n in servers:
    for route in ROUTES:
        d = after[n][0][(route, 200)] - before[n][0][(route, 200)]
        check(d == seen[(n, route)], f"phase A: {n} {route}: /metrics counts {d} answered, clients saw {seen[(n, route)]}")
    errs = sum(v - before[n][0][k] for k, v in after[n][0].items() if k[0] in ROUTES and k[1] != 200)
    check(errs == 0, f"phase A: {n} counted {errs} failed requests")
check(metric_tokens == client_tokens + job_tokens,
      f"phase A: /metrics generated tokens {metric_tokens} != clients {client_tokens} + jobs {job_tokens}")
sticky = collections.defaultdict(set)
for r in ra:
    sticky[r["model"]].add(r["served"])
check(all(len(v) == 1 for v in sticky.values()),
      f"phase A: a model was served by several servers: {collections.Counter((r['model'], r['served']) for r in ra)} "
      f"{[(r['id'], r['model'], r['served'], round(r['t0'] - ra[0]['t0'], 3)) for r in ra if r['served'] != collections.Counter(x['served'] for x in ra if x['model'] == r['model']).most_common(1)[0][0]]}")
print(f"phase A (steady, {A.phase_s:.0f} s): {len(ra)} requests, {len(bad)} failed, {len(jobs_by_phase['A'])} jobs; "
      f"metrics = clients per server and route; tokens {metric_tokens} = {client_tokens} + {job_tokens} (jobs); "
      f"models -> servers {{{', '.join(f'{m}: {sorted(v)}' for m, v in sorted(sticky.items()))}}}", flush=True)

# ---- phase B: rolling restart --------------------------------------------------------------
release("B")
time.sleep(1.0)
drain_s = []
for n, s in servers.items():
    t0 = time.time()
    inflight = json.loads(http_get(s.port, "/ready")[1])["in_flight"]
    s.proc.send_signal(signal.SIGTERM)
    events.append((round(t0 - t_start, 2), f"SIGTERM {n}"))
    rc = s.proc.wait(timeout=60)
    drain_s.append(time.time() - t0)
    check(rc == 0, f"phase B: {n} exited {rc} after SIGTERM")
    print(f"  {n}: SIGTERM with {inflight} requests in flight, drained and exited {rc} in {drain_s[-1]:.2f} s", flush=True)
    events.append((round(time.time() - t_start, 2), f"{n} exited, restart"))
    s.start()
    s.wait_ready()
    if wait_haproxy(n, "UP", 10) is None:
        die(f"haproxy did not take {n} back")
    events.append((round(time.time() - t_start, 2), f"haproxy has {n} up"))
    time.sleep(0.5)
time.sleep(1.0)
hold()
rb = phase_results("B")
bad = [r for r in rb if not r["ok"]]
check(not bad, f"phase B: {len(bad)} failed requests: {bad[:3]}")
print(f"phase B (rolling restart of 3): {len(rb)} requests, {len(bad)} failed, {len(jobs_by_phase['B'])} jobs, "
      f"drains {', '.join(f'{d:.2f}' for d in drain_s)} s", flush=True)

# ---- phase C: kill -9 ----------------------------------------------------------------------
victim_name = next(r["served"] for r in reversed(phase_results("B")) if r["model"] == MODELS[0] and r["served"])
victim = servers[victim_name]
release("C")
# Wait until the victim is busy, then hold new requests back until none is in transit.
end = time.time() + 10
while time.time() < end and json.loads(http_get(victim.port, "/ready")[1])["in_flight"] < 5:
    time.sleep(0.05)
with cv:
    gate_open = False
# No request may be in transit: every request under way for its model has reached it (its access
# log says begun), and job submissions (balanced round robin) are done.
end = time.time() + 10
while time.time() < end:
    with cv:
        pending = {rid for rid, m in active.items() if m == MODELS[0]}
        submitting = any(m == "submit" for m in active.values())
    if not submitting and pending <= victim.access_log()[0]:
        break
    time.sleep(0.02)
else:
    die("requests still in transit to the server to kill")
victim_worker = f":{victim.port}/{victim.proc.pid}"  # the end of its job worker id, host:port/pid
victim.proc.kill()
t_kill = time.time()
events.append((round(t_kill - t_start, 2), f"kill -9 {victim_name}"))
victim.proc.wait()
release("C")
down_after = wait_haproxy(victim_name, "DOWN", 5)
time.sleep(A.phase_s / 2)
hold()
in_flight_all = victim.access_in_flight()
in_flight = {i for i in in_flight_all if not i.startswith("job-")}  # job calls come from its own workers
jobs_in_flight = in_flight_all - in_flight
rc_ = phase_results("C")
failed = {r["id"] for r in rc_ if not r["ok"]}
after_kill = [r for r in rc_ if r["t0"] > t_kill]
check(down_after is not None and down_after <= 2.0, f"phase C: haproxy marked {victim_name} down after {down_after} s")
check(len(in_flight) > 0, "phase C: nothing was in flight on the killed server")
check(failed == in_flight, f"phase C: failed {len(failed)} != in flight on {victim_name} {len(in_flight)} "
      f"(failed only: {sorted(failed - in_flight)[:5]}, in flight only: {sorted(in_flight - failed)[:5]})")
check(all(r["ok"] for r in after_kill), "phase C: a request started after the kill failed")
first_after = [r for r in after_kill if r["model"] == MODELS[0] and r["ok"]]
check(first_after and all(r["served"] != victim_name for r in first_after), f"phase C: {MODELS[0]} not served elsewhere after the kill")
print(f"phase C (kill -9 {victim_name}): {len(rc_)} requests, {len(failed)} failed, {len(in_flight)} in flight on it at the "
      f"kill; haproxy marked it down after {down_after:.2f} s; {len(after_kill)} requests after the kill all answered "
      f"({MODELS[0]} now on {sorted({r['served'] for r in first_after})})", flush=True)

# ---- jobs: every one finished exactly once ------------------------------------------------
with cv:
    stop = True
    cv.notify_all()
check(wait_jobs_done(60), "jobs left unfinished: " + sql("SELECT status, count(*) FROM jobs GROUP BY status"))
n_jobs = sum(len(v) for k, v in jobs_by_phase.items() if k != "failed_submit")
check(not jobs_by_phase["failed_submit"], f"job submissions failed: {jobs_by_phase['failed_submit'][:5]}; "
      f"driver events {events}")
# A refusal loses nothing, but more than a couple means the balancer kept sending work to a
# server that could not take it.
check(len(refused_submits) <= 2, f"{len(refused_submits)} job submissions refused with 503: {refused_submits[:5]}; "
      f"driver events {events}")
succeeded = int(sql("SELECT count(*) FROM jobs WHERE status='succeeded'"))
once = int(sql("SELECT count(*) FROM (SELECT job_id FROM job_runs WHERE outcome='succeeded' GROUP BY job_id HAVING count(*)=1) x"))
finished_runs = int(sql("SELECT count(*) FROM job_runs WHERE outcome IN ('succeeded','failed')"))
lost = int(sql("SELECT count(*) FROM job_runs WHERE outcome='lost'"))
lost_runs = [row.split("|") for row in sql("SELECT job_id || '|' || worker FROM job_runs WHERE outcome='lost'").split()]
lost_ids = {job for job, _ in lost_runs}
check(jobs_in_flight <= lost_ids, f"jobs: job calls in flight on the killed server {sorted(jobs_in_flight - lost_ids)[:5]} "
      f"are not lost runs {sorted(lost_ids)[:5]}")
lost_elsewhere = [job for job, worker in lost_runs if not worker.endswith(victim_worker)]
workers = int(sql("SELECT count(DISTINCT split_part(worker, '/', 1)) FROM jobs"))
check(succeeded == n_jobs and once == n_jobs and finished_runs == n_jobs,
      f"jobs: {n_jobs} submitted, {succeeded} succeeded, {once} finished once, {finished_runs} finished runs")
total = len(results)
print(f"jobs: {n_jobs} submitted, {succeeded} succeeded, each finished exactly once; {lost} were running on the "
      f"killed server or lapsed ({len(jobs_in_flight)} job calls in flight in its log, {len(lost_elsewhere)} leases lapsed "
      f"on live servers) and ran again elsewhere; run by {workers} servers; "
      f"{len(refused_submits)} submissions refused with 503 and sent again",
      flush=True)
print(f"fleet: {A.clients} clients, {total} requests, {sum(1 for r in results if not r['ok'])} failed "
      f"(all in flight on the killed server), {time.time() - t_start:.0f} s", flush=True)
for s in servers.values():
    s.stop_hard()
sys.exit(1 if failures else 0)
