-- The document list page: 20 items with the status and file-type filters, authenticated.
wrk.method = "GET"
wrk.path = "/api/documents/?page=1&page_size=20&status=completed&file_type=pdf"
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("BENCH_TOKEN"), "BENCH_TOKEN is not set")
