"""The note's snippet, verbatim in shape: requests.post(.../api/generate, stream False).json()["response"]."""
import sys

import requests

host, model = sys.argv[1], sys.argv[2]
result = requests.post(f"http://{host}/api/generate",
                       json={"model": model, "prompt": "Once upon a time", "stream": False}).json()
print(result["response"])
assert isinstance(result["response"], str) and result["response"], result
assert result["done"] is True and result["done_reason"] in ("stop", "length"), result
assert result["eval_count"] > 0 and result["eval_duration"] > 0 and result["total_duration"] > 0, result
assert result["created_at"].endswith("Z") and "T" in result["created_at"], result

# Chat, non-streaming, and the 404 text clients parse to trigger a pull.
chat = requests.post(f"http://{host}/api/chat", json={
    "model": model, "messages": [{"role": "user", "content": "Tell me a story"}], "stream": False,
    "options": {"num_predict": 8}}).json()
assert chat["message"]["role"] == "assistant" and chat["done"] is True, chat
r = requests.post(f"http://{host}/api/generate", json={"model": "nope", "prompt": "x"})
assert r.status_code == 404 and r.json() == {"error": 'model "nope" not found, try pulling it first'}, r.text
print("python requests: ok")
