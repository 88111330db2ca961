"""gRPC load: many concurrent 1,000-row ModelInfer calls against `slipway serve`, from an asyncio
client that sends one pre-serialized request over and over (so the client spends its time on the
wire, not in Python). As a test it asserts that every call under load succeeds with the right rows;
as a script it reports predictions per second:

    SLIPWAY_BIN=build/release/src/cli/slipway python tests/e2e/test_serve_grpc_load.py \
        --seconds 10 --rows 1000 --concurrency 16 [--model PATH.slw] [--processes 1] [--target HOST:PORT]
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

METHOD = "/inference.GRPCInferenceService/ModelInfer"
MLP = Path(__file__).resolve().parents[1] / "data" / "models" / "bundles" / "mlp_v1.slw"


def packed_request(model: str, rows: int, n_inputs: int) -> bytes:
    from tritonclient.grpc import service_pb2

    rng = np.random.default_rng(7)
    x = rng.normal(size=(rows, n_inputs)).astype(np.float32)
    req = service_pb2.ModelInferRequest(model_name=model)
    req.inputs.add(name="input__0", datatype="FP32", shape=[rows, n_inputs])
    req.raw_input_contents.append(x.tobytes())
    return req.SerializeToString()


async def drive(target: str, payload: bytes, seconds: float, concurrency: int, check_rows: int | None) -> tuple[int, int, list[str]]:
    import grpc

    ok = 0
    failed = 0
    errors: list[str] = []
    options = [("grpc.max_receive_message_length", 64 << 20), ("grpc.max_send_message_length", 64 << 20)]
    async with grpc.aio.insecure_channel(target, options=options) as channel:
        call = channel.unary_unary(METHOD)  # bytes in, bytes out: no (de)serialization in Python
        if check_rows is not None:
            from tritonclient.grpc import service_pb2

            first = service_pb2.ModelInferResponse.FromString(await call(payload, timeout=30))
            got = len(first.raw_output_contents[0]) // 4
            if got != check_rows:
                errors.append(f"first response has {got} rows, expected {check_rows}")
        deadline = time.perf_counter() + seconds

        async def worker():
            nonlocal ok, failed
            while time.perf_counter() < deadline:
                try:
                    await call(payload, timeout=30)
                    ok += 1
                except grpc.aio.AioRpcError as e:
                    failed += 1
                    if len(errors) < 5:
                        errors.append(f"{e.code()}: {e.details()}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok, failed, errors


def _process_main(args) -> tuple[int, int, list[str]]:
    target, payload, seconds, concurrency = args
    return asyncio.run(drive(target, payload, seconds, concurrency, None))


def run_load(target: str, model: str, n_inputs: int, rows: int, seconds: float, concurrency: int,
             processes: int = 1) -> dict:
    payload = packed_request(model, rows, n_inputs)
    # Warm up (and check the answer's size once).
    _, _, errors = asyncio.run(drive(target, payload, 0.5, concurrency, rows))
    start = time.perf_counter()
    if processes == 1:
        ok, failed, errs = asyncio.run(drive(target, payload, seconds, concurrency, None))
    else:
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            parts = pool.map(_process_main, [(target, payload, seconds, concurrency)] * processes)
        ok = sum(p[0] for p in parts)
        failed = sum(p[1] for p in parts)
        errs = [e for p in parts for e in p[2]]
    elapsed = time.perf_counter() - start
    return {"requests": ok, "failed": failed, "errors": errors + errs, "seconds": elapsed,
            "requests_per_s": ok / elapsed, "predictions_per_s": ok * rows / elapsed, "rows": rows,
            "concurrency": concurrency, "processes": processes, "request_bytes": len(payload)}


def test_concurrent_1000_row_requests_all_succeed():
    from test_serve_grpc import ServeProcess

    proc = ServeProcess(MLP, "--max-batch-size", "100000")
    try:
        result = run_load(proc.grpc, "mlp_v1", 2, rows=1000, seconds=2, concurrency=8)
        print(f"\ngRPC 1,000-row requests: {result['predictions_per_s']:,.0f} predictions/s "
              f"({result['requests_per_s']:,.0f} requests/s, {result['concurrency']} in flight)")
        assert result["failed"] == 0, result["errors"]
        assert result["errors"] == []
        assert result["requests"] > 0
    finally:
        assert proc.stop() == 0, proc.stderr()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--model", type=Path, default=MLP, help="an all-numeric bundle (sent as packed input__0)")
    parser.add_argument("--inputs", type=int, default=2, help="number of model inputs (columns of input__0)")
    parser.add_argument("--target", help="HOST:PORT of a running server (default: start `slipway serve`)")
    parser.add_argument("--serve-args", default="--max-batch-size 100000", help="extra `slipway serve` flags")
    args = parser.parse_args()
    proc = None
    target = args.target
    name = args.model.stem
    if target is None:
        from test_serve_grpc import ServeProcess

        proc = ServeProcess(args.model, *args.serve_args.split())
        target = proc.grpc
    try:
        r = run_load(target, name, args.inputs, args.rows, args.seconds, args.concurrency, args.processes)
    finally:
        if proc is not None:
            proc.stop()
    print(f"{r['predictions_per_s']:,.0f} predictions/s  ({r['requests_per_s']:,.0f} requests/s of {r['rows']} rows, "
          f"{r['request_bytes']:,} bytes each; {r['concurrency']} in flight x {r['processes']} process(es); "
          f"{r['requests']:,} ok, {r['failed']} failed in {r['seconds']:.1f} s)")
    if r["errors"]:
        print("errors:", *r["errors"], sep="\n  ")
    os._exit(0)


if __name__ == "__main__":
    main()
