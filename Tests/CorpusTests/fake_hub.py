"""A loopback stand-in for the Hugging Face Hub, serving one model folder for the download tests.

    python3 fake_hub.py MODEL_DIR REPO_ID LOG_FILE    (prints the port it listens on)

Routes: GET /api/models/REPO_ID/revision/main, HEAD and GET /REPO_ID/resolve/REV/FILE (with Range).
Every request line and Range header is appended to LOG_FILE.
"""
import hashlib
import http.server
import json
import os
import sys

MODEL_DIR, REPO_ID, LOG = sys.argv[1], sys.argv[2], sys.argv[3]
SHA = hashlib.sha1(REPO_ID.encode()).hexdigest()
FILES = sorted(f for f in os.listdir(MODEL_DIR) if os.path.isfile(os.path.join(MODEL_DIR, f)))


def etag(name):
    with open(os.path.join(MODEL_DIR, name), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def record(self):
        with open(LOG, "a") as f:
            f.write(f"{self.command} {self.path} range={self.headers.get('Range')}\n")

    def target(self):
        prefix = f"/{REPO_ID}/resolve/"
        if not self.path.startswith(prefix):
            return None
        name = self.path[len(prefix):].split("/", 1)[-1]
        return name if name in FILES else None

    def send_file_headers(self, name, length, status=200, extra=()):
        self.send_response(status)
        size = os.path.getsize(os.path.join(MODEL_DIR, name))
        tag = etag(name)
        if name.endswith(".safetensors"):
            self.send_header("X-Linked-Etag", f'"{tag}"')
            self.send_header("X-Linked-Size", str(size))
        self.send_header("ETag", f'"{tag}"')
        self.send_header("X-Repo-Commit", SHA)
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        for key, value in extra:
            self.send_header(key, value)
        self.end_headers()

    def do_HEAD(self):
        self.record()
        name = self.target()
        if name is None:
            self.send_error(404)
            return
        self.send_file_headers(name, os.path.getsize(os.path.join(MODEL_DIR, name)))

    def do_GET(self):
        self.record()
        if self.path == f"/api/models/{REPO_ID}/revision/main":
            body = json.dumps({"id": REPO_ID, "sha": SHA, "siblings": [{"rfilename": f} for f in FILES]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        name = self.target()
        if name is None:
            self.send_error(404)
            return
        with open(os.path.join(MODEL_DIR, name), "rb") as f:
            data = f.read()
        start = 0
        range_header = self.headers.get("Range")
        if range_header and range_header.startswith("bytes="):
            start = int(range_header[len("bytes="):].split("-")[0])
            self.send_file_headers(name, len(data) - start, 206, [("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")])
        else:
            self.send_file_headers(name, len(data))
        self.wfile.write(data[start:])


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
