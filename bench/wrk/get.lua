-- GET the URL given to wrk, counting answers by status (the catalog, product and API rows).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
