#!/usr/bin/env python3
"""Writes the seed scripts of the rpc harness (tests/fuzz/rpc_fuzz.cpp) to
tests/fuzz/corpus/rpc/: real request flows (produce and fetch, a consumer
group, transactions, admin, idempotent and delayed produce) and framing gone
wrong. Each byte below is read by the harness in this order; keep both in
step when the harness changes.  Usage: tests/fuzz/rpc_corpus.py"""
import os
import struct

OPS = dict(info=0, create=1, delete=2, list=3, describe=4, add_partitions=5, produce=6,
           fetch=9, init_producer=10, list_offsets=11, join=12, heartbeat=14, leave=15,
           commit=16, fetch_offsets=17, register_checker=18, send_half=19, end_txn=20,
           nack=21, redrive=22, redrive_cursor=23, lists=24, metadata=25, inspect=26, raw=27)


def sized(b):
    return struct.pack('<I', len(b)) + b


def batch(key=b'key', value=b'hello', records=1):
    # kind 0 (valid), no producer stamp, no attributes, record count, records
    out = bytes([0, 255, 255, records - 1])
    for i in range(records):
        out += sized(key) + sized(value + str(i).encode()) + bytes([255, 0])  # no headers, now
    return out


def produce(topic=0, partition=0, acks=1, delay_level=None):
    out = bytes([OPS['produce'], topic, partition, acks]) + batch()
    if delay_level is None:
        return out + bytes([255])
    return out + bytes([0, 1, delay_level])  # delayed, by level


def fetch(topic=0, partition=0, offset=0, wait_ms=100):
    return bytes([OPS['fetch'], 1, topic, partition, offset, 255, 0, wait_ms, 0, 255])


GROUP = bytes([0, 0])     # grp0
MEMBER = bytes([0, 0])    # the first member this script joined
GEN1 = bytes([0, 1])      # generation 1


def join():
    # group, empty member id, no client id, one topic f0, 900 ms session, range
    return bytes([OPS['join']]) + GROUP + bytes([0, 2, 1, 0, 0, 100, 0])


def seeds():
    s = {}
    s['produce-then-fetch'] = produce() + produce(partition=1, acks=2) + produce(acks=3) + \
        fetch() + fetch(partition=1) + bytes([OPS['list_offsets'], 0, 0, 150])
    s['consumer-group'] = (produce() + join() +
                           bytes([OPS['commit']]) + GROUP + MEMBER + GEN1 + bytes([1, 0, 0, 1, 255]) +
                           bytes([OPS['fetch_offsets']]) + GROUP + bytes([1, 0, 0]) +
                           bytes([OPS['nack']]) + GROUP + MEMBER + GEN1 +
                           bytes([1, 0, 0, 0, 0, 255, 255, 255]) +
                           bytes([OPS['heartbeat']]) + GROUP + MEMBER + GEN1 +
                           bytes([OPS['lists'], 0, 0]) +
                           bytes([OPS['leave']]) + GROUP + MEMBER)
    half = bytes([OPS['send_half']]) + GROUP + bytes([0, 0]) + batch() + bytes([255, 255, 255])
    s['transactions'] = (bytes([OPS['register_checker']]) + GROUP + half +
                         bytes([OPS['end_txn'], 0, 0, 1]) + half +
                         bytes([OPS['end_txn'], 0, 1, 0]) + bytes([OPS['end_txn'], 0, 0, 0]) +
                         bytes([OPS['lists'], 0, 0]))
    s['admin'] = (bytes([OPS['create'], 200, 2]) + bytes([255] * 10) +
                  bytes([OPS['describe'], 200]) + bytes([OPS['add_partitions'], 200, 5]) +
                  bytes([OPS['list'], OPS['metadata'], 1, 200, 0, 0, 0, 255]) +
                  bytes([OPS['delete'], 200]) + bytes([OPS['describe'], 200]) +
                  bytes([OPS['inspect'], 0]))
    s['idempotent'] = (bytes([OPS['init_producer']]) +
                       bytes([OPS['produce'], 0, 0, 1, 0, 0]) + struct.pack('<i', 0) +
                       bytes([255, 0]) + sized(b'k') + sized(b'once') + bytes([255, 0, 255]) +
                       bytes([OPS['produce'], 0, 0, 1, 0, 0]) + struct.pack('<i', 0) +
                       bytes([255, 0]) + sized(b'k') + sized(b'once') + bytes([255, 0, 255]))
    s['delayed'] = produce(delay_level=1) + bytes([OPS['produce'], 0, 0, 1]) + batch() + \
        bytes([0, 0]) + struct.pack('<q', 1 << 62)  # deliver at a time far away
    s['dead-letters'] = (produce() + join() +
                         bytes([OPS['nack']]) + GROUP + MEMBER + GEN1 +
                         bytes([1, 0, 0, 0, 1, 255, 255, 255]) +  # reject: dead-lettered now
                         bytes([OPS['redrive_cursor'], 0]) +
                         bytes([OPS['redrive'], 0, 0, 0, 0, 0]))
    # Cap'n Proto framing: 2^32-1 segments; one segment of 2^32-1 words; a
    # message that is a pointer to far away; plain text.
    s['raw-huge-segment-count'] = bytes([OPS['raw']]) + sized(struct.pack('<II', 0xffffffff, 1))
    s['raw-huge-segment'] = bytes([OPS['raw']]) + sized(struct.pack('<II', 0, 0xffffffff) + b'\0' * 64)
    s['raw-far-pointer'] = bytes([OPS['raw']]) + sized(struct.pack('<II', 0, 2) +
                                                       struct.pack('<Q', 0xfffffffa00000002) +
                                                       b'\0' * 8)
    s['raw-http'] = bytes([OPS['raw']]) + sized(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    s['every-op-zeroed'] = b''.join(bytes([op]) + bytes(24) for op in range(28))
    return s


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'rpc')
    os.makedirs(out, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
    print(f'{len(seeds())} seeds in {out}')


if __name__ == '__main__':
    main()
