#!/usr/bin/env python3
"""Seeds N residents straight into PostgreSQL (COPY) and mints their access tokens with the
bench server's JWT secret, so the submission scenario has one fresh resident per request."""
import base64, csv, hashlib, hmac, json, subprocess, sys, time, uuid

db_url, secret, count, tokens_path = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), sys.argv[4]

def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

# Byte for byte the header the service writes on the tokens it issues (jsonwebtoken's field
# order): it verifies its own header's tokens without parsing the header.
header = b64(json.dumps({"typ": "JWT", "alg": "HS256"}, separators=(",", ":")).encode())
now = int(time.time())
rows, tokens = [], []
for i in range(count):
    rid = str(uuid.uuid4())
    rows.append([rid, f"bench-{i}-{rid[:8]}", "shichahai", "2026-11-27 00:00:00+00", "2026-11-27 00:00:00+00"])
    claims = {"sub": rid, "role": "resident", "iat": now, "exp": now + 7200, "jti": str(uuid.uuid4())}
    body = header + "." + b64(json.dumps(claims, separators=(",", ":")).encode())
    sig = b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    tokens.append(body + "." + sig)

copy = subprocess.Popen(
    ["psql", db_url, "-q", "-c",
     "COPY residents (id, openid, home_subdistrict, created_at, updated_at) FROM STDIN WITH (FORMAT csv)"],
    stdin=subprocess.PIPE, text=True)
writer = csv.writer(copy.stdin)
writer.writerows(rows)
copy.stdin.close()
if copy.wait() != 0:
    sys.exit("COPY of residents failed")
with open(tokens_path, "w") as f:
    f.write("\n".join(tokens) + "\n")
