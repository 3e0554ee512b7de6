#pragma once
// All CAF atoms of ActorMQ, in one place. They live in our namespace because
// CAF predefines get_atom, put_atom, ok_atom... (clash under using-directives).
// CAF 0.17 atoms are at most 10 characters.

#include <caf/atom.hpp>

namespace actormq {

using produce_atom = caf::atom_constant<caf::atom("produce")>;
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using wait_atom = caf::atom_constant<caf::atom("wait")>;
using offsets_atom = caf::atom_constant<caf::atom("offsets")>;
using time_atom = caf::atom_constant<caf::atom("time")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using flushed_atom = caf::atom_constant<caf::atom("flushed")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using close_atom = caf::atom_constant<caf::atom("close")>;
using create_atom = caf::atom_constant<caf::atom("create")>;
using delete_atom = caf::atom_constant<caf::atom("delete")>;
using describe_atom = caf::atom_constant<caf::atom("describe")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using lookup_atom = caf::atom_constant<caf::atom("lookup")>;
using grow_atom = caf::atom_constant<caf::atom("grow")>;
using quota_atom = caf::atom_constant<caf::atom("quota")>;
using throttle_atom = caf::atom_constant<caf::atom("throttle")>;
using stray_atom = caf::atom_constant<caf::atom("stray")>;
using pid_atom = caf::atom_constant<caf::atom("pid")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using committed_atom = caf::atom_constant<caf::atom("committed")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using unpark_atom = caf::atom_constant<caf::atom("unpark")>;
using group_atom = caf::atom_constant<caf::atom("group")>;
using call_atom = caf::atom_constant<caf::atom("call")>;
using nack_atom = caf::atom_constant<caf::atom("nack")>;
using redrive_atom = caf::atom_constant<caf::atom("redrive")>;
using internal_atom = caf::atom_constant<caf::atom("internal")>;
using half_atom = caf::atom_constant<caf::atom("half")>;
using end_atom = caf::atom_constant<caf::atom("endtxn")>;
using checker_atom = caf::atom_constant<caf::atom("checker")>;
using check_atom = caf::atom_constant<caf::atom("check")>;
// Cluster (actors/cluster/): NODE and PEERS actors.
using node_info_atom = caf::atom_constant<caf::atom("nodeinfo")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using partition_stats_atom = caf::atom_constant<caf::atom("pstats")>;
using set_peers_atom = caf::atom_constant<caf::atom("setpeers")>;
using peers_atom = caf::atom_constant<caf::atom("peers")>;
using node_atom = caf::atom_constant<caf::atom("node")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
// replication (actors/partition/replication_types.h)
using replica_fetch_atom = caf::atom_constant<caf::atom("rfetch")>;
using epoch_end_atom = caf::atom_constant<caf::atom("epochend")>;
using lead_atom = caf::atom_constant<caf::atom("lead")>;
using follow_atom = caf::atom_constant<caf::atom("follow")>;
using replica_append_atom = caf::atom_constant<caf::atom("rappend")>;
using truncate_atom = caf::atom_constant<caf::atom("truncate")>;
using alter_isr_atom = caf::atom_constant<caf::atom("alterisr")>;
// actor inspector (actors/inspect/, docs/inspector.md)
using inspect_atom = caf::atom_constant<caf::atom("inspect")>;
using all_atom = caf::atom_constant<caf::atom("all")>;
using trace_atom = caf::atom_constant<caf::atom("trace")>;
// --- coordinator state (internal topics) ---
using compact_atom = caf::atom_constant<caf::atom("compact")>;

}  // namespace actormq
