#!/usr/bin/env bash
# `corral run` and the CLI around it, end to end, with an isolated HOME and a free port:
# autostart of the server, one-shot answers (argument, piped stdin, GGUF path, --verbose), no
# escape codes without a TTY, ps/stop, store commands through the server, every error message
# and exit code, and the interactive mode driven under tmux (multi-line input, /set parameter,
# Ctrl-C mid-answer, /save then /load, history recall across sessions, Ctrl-C/Ctrl-D at the prompt).
set -euo pipefail
: "${CORRAL_BIN:?}" "${CORRAL_SHARED_DIR:?}"
BIN=$(realpath "$CORRAL_BIN")
GGUF=$CORRAL_SHARED_DIR/models/stories260K.gguf
command -v tmux >/dev/null || { echo "FAIL: tmux is not installed (scripts/install-deps.sh)" >&2; exit 1; }
T=$(mktemp -d)
TM="tmux -S $T/tmux-0.sock -f /dev/null"
server_pid=
cleanup() {
  $TM kill-server 2>/dev/null || true
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -f "$T/home/.corral/logs/server.pid" ] && kill "$(cat "$T/home/.corral/logs/server.pid")" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [ -f "$T/home/.corral/logs/server.log" ] && { echo "--- server log (tail)" >&2; tail -20 "$T/home/.corral/logs/server.log" >&2; }
  exit 1
}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$T/home"
export HOME=$T/home CORRAL_MODELS=$T/models CORRAL_HOST=127.0.0.1:$PORT
unset CORRAL_HOME OLLAMA_HOST OLLAMA_MODELS OLLAMA_NOHISTORY
# stories260K answers thousands of tokens a second: paced at 2 ms a token (the test hook, inherited
# by the autostarted server) the Ctrl-C check below sees "stopped early" vs "ran to the context
# limit" apart on any machine, not only on a slow one.
export CORRAL_ENABLE_TEST_HOOKS=1 CORRAL_TEST_FAULTS="stories:stall_ms=2"
# expect_err RC "substring" cmd...: the command exits with RC and prints the substring on stderr.
expect_err() {
  local want_rc=$1 want=$2; shift 2
  local rc=0
  "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
  [ "$rc" = "$want_rc" ] || fail "'$*' exited $rc, want $want_rc: $(cat "$T/err")"
  grep -qF -- "$want" "$T/err" || fail "'$*' stderr lacks '$want': $(cat "$T/err")"
  [ "$(wc -l < "$T/err")" -le 2 ] || fail "'$*' error is not one line: $(cat "$T/err")"
}
no_escapes() { if grep -qP '\x1b' "$1"; then fail "escape codes in non-TTY output: $(cat -v "$1" | head -3)"; fi; }

# --- Without a server: store commands work on the store directly; server commands say what to do.
cat > "$T/Modelfile" <<MF
FROM $GGUF
PARAMETER temperature 0
PARAMETER num_predict 16
MF
"$BIN" create stories -f "$T/Modelfile" >/dev/null || fail "create without a server"
"$BIN" list | grep -q '^stories:latest' || fail "list without a server"
expect_err 3 'could not connect to a corral server at 127.0.0.1:'"$PORT"'; start one with "corral serve"' "$BIN" ps
expect_err 3 'start one with "corral serve"' "$BIN" stop stories
expect_err 2 'unknown command "bogus"' "$BIN" bogus
expect_err 2 'model is required' "$BIN" run
expect_err 2 '--format must be json or a JSON schema object, got "xml"' "$BIN" run stories --format xml hi
expect_err 2 '--think must be true, false, low, medium or high, got "maybe"' "$BIN" run stories --think=maybe hi
"$BIN" --help | grep -q '^Exit codes:' || fail "help lists no exit codes"
"$BIN" help run | grep -q 'echo "Summarize: ..." | corral run llama3.2' || fail "help run has no examples"
for c in run ps stop serve list show cp rm create pull push; do
  "$BIN" "$c" --help | grep -q 'Example' || fail "$c --help has no examples"
done
"$BIN" --version | grep -q '^corral version is ' || fail "--version"

# --- Autostart: the first run starts `corral serve` in the background and says so in one line.
"$BIN" run stories "Once upon a time" >"$T/a1" 2>"$T/e1" || fail "first run: $(cat "$T/e1")"
grep -q "^Started corral serve in the background on 127.0.0.1:$PORT" "$T/e1" || fail "no autostart line: $(cat "$T/e1")"
[ "$(wc -l < "$T/e1")" = 1 ] || fail "autostart said more than one line: $(cat "$T/e1")"
[ -s "$HOME/.corral/logs/server.log" ] || fail "no server log in ~/.corral/logs"
server_pid=$(cat "$HOME/.corral/logs/server.pid")
kill -0 "$server_pid" || fail "the started server is not running"
[ "$(ps -o sid= -p "$server_pid" | tr -d ' ')" = "$server_pid" ] || fail "the server is not in a session of its own"
[ -s "$T/a1" ] || fail "empty answer"
no_escapes "$T/a1"
"$BIN" run stories "Once upon a time" >"$T/a2" 2>"$T/e2"
[ ! -s "$T/e2" ] || fail "second run printed: $(cat "$T/e2")"
cmp -s "$T/a1" "$T/a2" || fail "temperature 0 gave two answers"
"$BIN" --version | grep -q 'reports API version' || fail "--version does not ask the server"

# --- create while a server runs goes through it, as with Ollama: the GGUF is hashed and sent
# from disk through /api/blobs (never read into memory whole), then /api/create.
"$BIN" rm stories >/dev/null || fail "rm stories through the server"
"$BIN" create stories -f "$T/Modelfile" >"$T/c" 2>&1 || fail "create through the server: $(cat "$T/c")"
grep -q '^copying file sha256:' "$T/c" || fail "create through the server did not upload the file: $(cat "$T/c")"
"$BIN" run stories "Once upon a time" >"$T/a3" 2>/dev/null || fail "run after the create through the server"
cmp -s "$T/a1" "$T/a3" || fail "the uploaded model answers differently"

# --- Piped stdin is the prompt; --verbose prints Ollama's timing block on stderr.
echo "Once upon a time" | "$BIN" run stories --verbose >"$T/p" 2>"$T/pe" || fail "piped run"
cmp -s "$T/a1" "$T/p" || fail "piped prompt answered differently: $(cat "$T/p") vs $(cat "$T/a1")"
for label in "total duration:" "load duration:" "prompt eval count:" "prompt eval duration:" \
             "prompt eval rate:" "eval count:" "eval duration:" "eval rate:"; do
  grep -q "^$label" "$T/pe" || fail "--verbose lacks '$label': $(cat "$T/pe")"
done
grep -Eq '^eval count: +16 token\(s\)$' "$T/pe" || fail "eval count is not num_predict: $(cat "$T/pe")"
expect_err 2 'the prompt is empty' sh -c "printf '  ' | '$BIN' run stories"

# --- A GGUF path runs in place (relative paths too; --keepalive passes through); Ctrl-C (SIGINT)
# stops a one-shot answer with exit code 130 (this model has no num_predict: it would run long).
# It runs from a directory reached through a symbolic link: ps lists the path as the user sees
# it (the shell's $PWD), not the link-resolved one getcwd() gives.
ln -s "$(dirname "$GGUF")" "$T/linked-models"
(cd "$T/linked-models" && exec "$BIN" run "./$(basename "$GGUF")" --keepalive 1m --nowordwrap "Once upon a time") >"$T/int" 2>&1 &
run_pid=$!
for _ in $(seq 100); do [ -s "$T/int" ] && break; sleep 0.1; done
kill -INT "$run_pid"
rc=0; wait "$run_pid" || rc=$?
[ "$rc" = 130 ] || fail "Ctrl-C exit code $rc, want 130: $(tail -c 300 "$T/int")"
"$BIN" ps | grep -qF "$T/linked-models/$(basename "$GGUF")" || fail "ps does not list the GGUF path as run: $("$BIN" ps)"

# --- ps and stop.
"$BIN" ps >"$T/ps"
head -1 "$T/ps" | grep -Eq '^NAME +ID +SIZE +PROCESSOR +CONTEXT +UNTIL$' || fail "ps header: $(head -1 "$T/ps")"
grep -Eq '^stories:latest +[0-9a-f]{12} +[0-9.]+ [KM]B +100% CPU +[0-9]+ +[0-9]+ (seconds|minutes) from now$' "$T/ps" \
  || fail "ps row: $(cat "$T/ps")"
"$BIN" stop stories || fail "stop"
if "$BIN" ps | grep -q '^stories:latest'; then fail "stop left the model loaded"; fi
expect_err 1 'model "stories" is not running; "corral ps" lists the running models' "$BIN" stop stories

# --- Store commands through the server (CORRAL_HOST set and answering).
"$BIN" cp stories copy1 | grep -q "copied 'stories' to 'copy1'" || fail "cp via server"
"$BIN" list | grep -q '^copy1:latest' || fail "list via server"
"$BIN" show copy1 | grep -q 'architecture' || fail "show via server"
"$BIN" show copy1 --parameters | grep -q 'temperature' || fail "show --parameters via server"
"$BIN" rm copy1 | grep -q "deleted 'copy1'" || fail "rm via server"
expect_err 1 'model "nope" not found, try "corral pull nope"' "$BIN" show nope
expect_err 1 'model "nope" not found' "$BIN" rm nope
expect_err 1 'model "nope" not found' "$BIN" cp nope other
expect_err 1 'model "nope" not found, and pulling it failed' "$BIN" run nope hi
expect_err 1 'no such GGUF file: /nonexistent/model.gguf' "$BIN" run /nonexistent/model.gguf hi

# --- Interactive mode under tmux.
pane() { $TM capture-pane -p -J -S - -t cli 2>/dev/null | sed "s/ *$//"; }
wait_for() {  # wait_for FIXED-STRING: until the pane shows it (20 s at most)
  for _ in $(seq 200); do pane | grep -qF -- "$1" && return 0; sleep 0.1; done
  fail "pane never showed '$1':"$'\n'"$(pane)"
}
prompts() { pane | grep -c '^>>> ' || true; }
wait_prompts() {  # wait until N prompt lines have been drawn
  for _ in $(seq 200); do [ "$(prompts)" -ge "$1" ] && return 0; sleep 0.1; done
  fail "expected $1 prompts:"$'\n'"$(pane)"
}
sessions=0
start_session() {
  # A fresh tmux server per session: a new session on a server that is still shutting down fails.
  $TM kill-server 2>/dev/null || true
  sessions=$((sessions + 1))
  TM="tmux -S $T/tmux-$sessions.sock -f /dev/null"
  rm -f "$T/exit"
  $TM new-session -d -s cli -x 100 -y 50 \
    "env HOME='$HOME' CORRAL_MODELS='$CORRAL_MODELS' CORRAL_HOST='$CORRAL_HOST' '$BIN' run ${1:-stories}; echo \$? > '$T/exit'; sleep 60"
  wait_for "Send a message (/? for help)"
}
send() { $TM send-keys -t cli "$@"; }

start_session
send '/set parameter num_predict 8' Enter
wait_for "Set parameter 'num_predict' to '8'"
send '"""Once upon' Enter 'a time"""' Enter
wait_for '... a time"""'
wait_prompts 3
# The multi-line prompt was sent as one message: its 8-token answer starts the 16-token one-shot answer.
printf 'Once upon\na time' | "$BIN" run stories >"$T/ml"
answer=$(pane | sed -n '/^\.\.\. a time"""$/,/^>>> /p' | sed '1d;$d' | tr -s ' \n' ' ' | sed 's/^ //;s/ $//')
[ -n "$answer" ] || fail "no answer to the multi-line prompt:"$'\n'"$(pane)"
case "$(tr -s ' \n' ' ' < "$T/ml")" in "$answer"*) ;; *) fail "multi-line answer '$answer' is not a prefix of '$(cat "$T/ml")'";; esac

# Ctrl-C mid-answer: the answer stops, the server stops generating, the session stays.
# (The token counter counts finished requests; an uncancelled answer runs to the context limit,
# about 2,000 tokens, while the cancelled one stops a few dozen tokens after Ctrl-C.)
metric() { curl -s "http://$CORRAL_HOST/metrics" | awk -v k="$1" 'index($0, k) == 1 {print $NF}' | head -1; }
send '/set parameter num_predict 100000' Enter
wait_for "Set parameter 'num_predict' to '100000'"
t0=$(metric corral_generated_tokens_total)
send 'Tell me a very long story' Enter
n=$(prompts)
for _ in $(seq 150); do [ "$(pane | sed -n '/^>>> Tell me a very long story$/,$p' | wc -w)" -gt 120 ] && break; sleep 0.1; done
send C-c
wait_prompts $((n + 1))
for _ in $(seq 100); do [ "$(metric 'corral_model_active_requests{model="stories:latest"')" = 0 ] && break; sleep 0.1; done
[ "$(metric 'corral_model_active_requests{model="stories:latest"')" = 0 ] || fail "the request is still running after Ctrl-C"
t1=$(metric corral_generated_tokens_total)
[ $((t1 - t0)) -gt 0 ] && [ $((t1 - t0)) -lt 1000 ] || fail "the server did not stop at Ctrl-C: $((t1 - t0)) tokens"
# The answer was wrapped at the terminal's 100 columns (pane lines are joined back with -J, so an
# unwrapped answer would show as one long line).
story=$(pane | sed -n '/^>>> Tell me a very long story$/,/^>>> /p' | sed '1d;$d')
[ "$(awk 'length > 60' <<<"$story" | wc -l)" -ge 2 ] || fail "the answer is too short to show wrapping: $story"
[ "$(awk 'length > 101' <<<"$story" | wc -l)" = 0 ] || fail "the answer was not wrapped at 100 columns: $story"
send '/show parameters' Enter
wait_for "num_predict                    100000"
send '/set parameter bogus 1' Enter
wait_for 'Error: unknown parameter "bogus"'
send '/set parameter top_k many' Enter
wait_for 'Error: invalid value "many" for parameter "top_k": want an integer'
send '/load nope' Enter
wait_for 'Error: model "nope" not found, and pulling it failed'

# /save then /load brings the conversation back.
send '/save saved1' Enter
wait_for "Created new model 'saved1'"
"$BIN" list | grep -q '^saved1:latest' || fail "/save did not create a model"
send '/load saved1' Enter
wait_for "Loading model 'saved1'"
wait_for $'>>> Once upon'
send '/show modelfile' Enter
wait_for 'PARAMETER num_predict 100000'

# Ctrl-C at the prompt clears the line; Up recalls history; Ctrl-D on an empty line exits.
send 'half typed' C-c
wait_for 'Use Ctrl + d or /bye to exit.'
send Up
for _ in $(seq 50); do [ "$(pane | grep '^>>> ' | tail -1)" = '>>> /show modelfile' ] && break; sleep 0.1; done
[ "$(pane | grep '^>>> ' | tail -1)" = '>>> /show modelfile' ] || fail "Up did not recall the last line:"$'\n'"$(pane)"
send C-u C-d
for _ in $(seq 100); do [ -s "$T/exit" ] && break; sleep 0.1; done
[ "$(cat "$T/exit" 2>/dev/null)" = 0 ] || fail "Ctrl-D did not exit cleanly:"$'\n'"$(pane)"
grep -qx '/set parameter num_predict 8' "$HOME/.corral/history" || fail "history file: $(cat "$HOME/.corral/history")"

# History survives into a new session (which shows a saved model's conversation at the start);
# /bye exits; /? prints help.
start_session saved1
wait_for '>>> Once upon'
send Up
for _ in $(seq 50); do [ "$(pane | grep '^>>> ' | tail -1)" = '>>> /show modelfile' ] && break; sleep 0.1; done
[ "$(pane | grep '^>>> ' | tail -1)" = '>>> /show modelfile' ] || fail "history not kept across sessions:"$'\n'"$(pane)"
send C-u '/?' Enter
wait_for 'Use """ to begin a multi-line message.'
send '/bogus' Enter
wait_for "Unknown command '/bogus'. Type /? for help"
send '/bye' Enter
for _ in $(seq 100); do [ -s "$T/exit" ] && break; sleep 0.1; done
[ "$(cat "$T/exit" 2>/dev/null)" = 0 ] || fail "/bye did not exit cleanly"
echo "cli_run: ok"
