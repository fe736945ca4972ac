-- Authenticated GET: the access token comes from BENCH_TOKEN (set by bench/http.py).
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("BENCH_TOKEN"), "BENCH_TOKEN is not set")
