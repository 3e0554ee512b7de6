@0xca914a0d0b98b76f;
# ActorMQ's network protocol: one bootstrap capability, Broker, per
# connection. Record data travels as record batch bytes in the storage format
# (docs/storage-format.md), never re-encoded per record: a producer sends one
# batch per partition per call and a fetch returns the stored batch bytes.
#
# Every reply that can fail carries an Error; code `none` means success.
#
# ErrorCode is the one list of error codes: the broker's `actormq::errc`
# (actors/errc.h) and the client's `actormq::client::errc` are generated from
# it at build time (cmake/error_codes.cmake writes the X-macro file
# <build>/generated/actormq/error_codes.inc). Per code, write:
#   - `name @N` with N the next free number (numbers are the wire format:
#     never renumber or reuse one);
#   - `$retriable` when resending the same request after a backoff may
#     succeed (is_retriable of both errc reads it);
#   - a comment on the same line: its first line is the code's text (the
#     broker's to_string and the client's error message), short and lower
#     case; further comment lines right below explain more and are not
#     generated.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("actormq::rpc");

annotation retriable @0x9630c1d39715ea8d (enumerant) :Void;
# On an ErrorCode: the request may succeed if resent after a backoff.

enum ErrorCode {
  none @0;                            # success
  invalidRequest @1;                  # invalid request
    # malformed or out-of-protocol request
  unknownTopic @2;                    # unknown topic
  topicExists @3;                     # topic already exists
  invalidTopic @4;                    # invalid topic
    # bad name or partition count
  unknownPartition @5;                # unknown partition
  invalidBatch @6;                    # invalid record batch
    # record batch bytes failed validation (CRC, length, records)
  batchTooLarge @7;                   # batch too large
    # above the broker's max batch size
  messageTooLarge @8;                 # message too large
    # one record above the broker's max message size
  busy @9 $retriable;                 # busy
    # too much in-flight data for the partition
  outOfOrderSequence @10;             # out of order sequence
    # idempotent producer skipped a sequence number
  invalidProducerEpoch @11;           # invalid producer epoch
    # a newer epoch of this producer id exists
  unknownProducerId @12;              # unknown producer id
  offsetOutOfRange @13;               # offset out of range
    # fetch below log start or above log end
  storageError @14;                   # storage error
    # i/o failure on the broker; see the message
  diskFull @15 $retriable;            # disk full
    # retriable once space is freed
  unknownGroup @16;                   # unknown group
  unknownMember @17;                  # unknown group member
    # member expired or never joined: join again
  staleGeneration @18;                # stale group generation
    # the group rebalanced since this member's generation
  rebalanceInProgress @19;            # rebalance in progress
  notAssigned @20;                    # partition not assigned to this member
    # a commit for a partition not assigned to this member
  timeout @21 $retriable;             # timeout
    # the broker did not finish in time
  shuttingDown @22 $retriable;        # shutting down
    # retry on another broker or after a restart
  internal @23;                       # internal error
  unknownTransaction @24;             # unknown transaction
  txnAlreadyCommitted @25;            # transaction already committed
    # a rollback (or check result) after a commit
  txnAlreadyRolledBack @26;           # transaction already rolled back
    # a commit (or check result) after a rollback
  redriveLimit @27;                   # re-drive limit reached
    # the message was re-driven too often (loop guard)
  queueFull @28;                      # queue full
    # bounded topic full with policy reject-new
  notLeader @29 $retriable;           # not the partition leader
    # this broker does not lead the partition; the reply carries a leader hint
  notController @30 $retriable;       # not the controller
    # this broker is not the cluster controller; ask the controller
  notEnoughReplicas @31 $retriable;   # not enough in-sync replicas
    # fewer in-sync replicas than min_insync_replicas
  clusterUnavailable @32 $retriable;  # cluster unavailable
    # the control plane (etcd) is unreachable, so changes that need it are refused
  staleLeaderEpoch @33 $retriable;    # stale leader epoch
    # the request's leader epoch is older than the partition's
  notCoordinator @34 $retriable;      # not the group coordinator
    # this broker does not coordinate the group; the reply carries the coordinator
  groupNotEmpty @35;                  # group not empty
    # the group has live members: stop its consumers first
}

struct Error {
  code @0 :ErrorCode;
  message @1 :Text;
  # With notLeader / notController: the broker that leads the partition (or
  # the controller) as this broker knows it, when known; -1 and "" otherwise.
  leaderId @2 :Int32 = -1;
  leaderAddress @3 :Text;
}

enum Acks {
  none @0;     # reply as soon as the batch is validated and queued
  leader @1;   # reply once written to the partition log (page cache)
  fsync @2;    # reply once fdatasync'ed per the group commit
  all @3;      # reply once every in-sync replica has it (the high watermark passed
               # it); refused with notEnoughReplicas when fewer than the topic's
               # min_insync_replicas are in sync. One broker: as leader.
}

struct TopicConfig {
  # Zero/negative values mean "broker default".
  partitions @0 :UInt32;
  retentionMs @1 :Int64 = -2;      # -1 = keep forever, -2 = broker default
  retentionBytes @2 :Int64 = -2;   # per partition; -1 = unbounded, -2 = default
  segmentBytes @3 :Int64 = 0;
  segmentMs @4 :Int64 = 0;
  flushMessages @5 :Int64 = -1;    # -1 = default, 0 = off, 1 = every append
  flushMs @6 :Int64 = -1;          # -1 = default, 0 = off
  maxMessages @7 :Int64 = -1;      # per partition; -1 = default, 0 = unbounded
  fullPolicy @8 :FullPolicy;       # what a partition at maxMessages does
  ttlMs @9 :Int64 = -1;            # message expiry by record timestamp; -1 = default, 0 = none
  replicationFactor @10 :UInt32;   # copies of each partition in a cluster; 0 = default (1)
  # Produce quotas, per producer connection: bytes and messages per second
  # it may send to this topic; -1 = broker default, 0 = unlimited. Beyond
  # them the broker holds the connection's produce requests (throttledMs in
  # the reply), it never fails them. Changed live with setTopicQuota.
  producerByteRate @11 :Int64 = -1;
  producerMessageRate @12 :Int64 = -1;
}

enum FullPolicy {
  brokerDefault @0;
  rejectNew @1;          # refuse the produce with queueFull
  deadLetterOldest @2;   # move the oldest messages to <topic>.dlq (reason queue_full)
}

struct PartitionInfo {
  partition @0 :UInt32;
  logStartOffset @1 :Int64;
  highWatermark @2 :Int64;
  sizeBytes @3 :UInt64;
  # Set when the partition did not answer (its actor is restarting after a
  # write error, say); its offsets are then 0. Unset (code none) otherwise.
  error @4 :Error;
}

struct TopicInfo {
  name @0 :Text;
  config @1 :TopicConfig;
  partitions @2 :List(PartitionInfo);
}

struct TopicPartition {
  topic @0 :Text;
  partition @1 :UInt32;
}

struct PartitionOffset {
  topic @0 :Text;
  partition @1 :UInt32;
  offset @2 :Int64;       # next offset to consume; -1 = none committed
  metadata @3 :Text;
}

struct PartitionLag {
  topic @0 :Text;
  partition @1 :UInt32;
  committed @2 :Int64;    # -1 = none
  highWatermark @3 :Int64;
  lag @4 :Int64;
  member @5 :Text;        # owner, empty if unassigned
}

struct MemberInfo {
  memberId @0 :Text;
  clientId @1 :Text;
  assignment @2 :List(TopicPartition);
  lastHeartbeatMsAgo @3 :Int64;
}

struct GroupInfo {
  name @0 :Text;
  generation @1 :Int32;
  strategy @2 :Text;
  members @3 :List(MemberInfo);
  partitions @4 :List(PartitionLag);
}

struct BrokerInfo {
  version @0 :Text;
  brokerId @1 :Text;
  maxBatchBytes @2 :UInt64;
  maxMessageBytes @3 :UInt64;
  streamPort @4 :UInt16;   # plain-TCP port of the zero-copy fetch stream; 0 = off
}

struct FetchPartition {
  topic @0 :Text;
  partition @1 :UInt32;
  offset @2 :Int64;
  maxBytes @3 :UInt32;
}

struct FetchResult {
  topic @0 :Text;
  partition @1 :UInt32;
  error @2 :Error;
  highWatermark @3 :Int64;
  logStartOffset @4 :Int64;
  records @5 :Data;        # whole batches back to back (copying path)
  streamBytes @6 :UInt64;  # bytes sent on the fetch stream instead (zero-copy path)
}

struct JoinResult {
  memberId @0 :Text;
  generation @1 :Int32;
  assignment @2 :List(TopicPartition);
  sessionTimeoutMs @3 :UInt32;
}

interface Broker {
  info @0 () -> (info :BrokerInfo);

  # --- admin ---
  createTopic @1 (name :Text, config :TopicConfig) -> (error :Error);
  deleteTopic @2 (name :Text) -> (error :Error);
  listTopics @3 () -> (topics :List(TopicInfo));
  describeTopic @4 (name :Text) -> (topic :TopicInfo, error :Error);
  addPartitions @5 (name :Text, totalPartitions :UInt32) -> (error :Error);
  listGroups @6 () -> (groups :List(Text));
  describeGroup @7 (group :Text) -> (group :GroupInfo, error :Error);

  # --- produce ---
  # A producer id unique in the cluster (a single broker: on this broker),
  # never handed out twice, epoch 0. In a cluster ids come in blocks claimed
  # in etcd; with etcd unreachable and this broker's block used up the
  # answer is the retriable clusterUnavailable.
  initProducer @8 () -> (producerId :Int64, epoch :Int16, error :Error);
  # Appends one record batch (storage format, base offset 0) to one
  # partition. With a producer id in the batch header, a batch whose sequence
  # was already stored is answered with its original offsets (duplicate =
  # true) instead of being stored again.
  #
  # Delayed messages: with deliverAtMs (ms since the epoch) in the future or
  # a delayLevel (1-based index into the broker's delay levels, default
  # 1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h), the batch is
  # stored in the broker's schedule and appended to the partition at its
  # time; the reply then has scheduled = true and the due time (offsets are
  # assigned at delivery). Delayed batches carry no producer sequence (the
  # client leaves them unstamped; the broker clears it at delivery), so a
  # retried delayed send is at-least-once.
  #
  # deliverAtList: one due time (ms since the epoch) per record of the
  # batch, in record order, instead of deliverAtMs and delayLevel (both
  # then 0): every record is scheduled for its own time, records due
  # together as one batch, in their order (a time not in the future is due
  # at once). The reply has scheduled = true and the earliest due time. A
  # list whose length is not the batch's record count is invalidRequest.
  produce @9 (topic :Text, partition :UInt32, acks :Acks, batch :Data,
              deliverAtMs :Int64 = 0, delayLevel :UInt8 = 0,
              deliverAtList :List(Int64))
      -> (error :Error, baseOffset :Int64, lastOffset :Int64, duplicate :Bool,
          scheduled :Bool, deliverAtMs :Int64, throttledMs :UInt32);
  # throttledMs: how long the broker held this request for the topic's
  # produce quota before storing it (0 = not held).

  # --- fetch ---
  # Long poll: answers at once when minBytes are available over all
  # partitions (1: any), else as soon as one of them gets data (the others
  # then answer "nothing new"), or after maxWaitMs. With useStream, the
  # batch bytes are written to this session's fetch stream (see openStream)
  # before the reply, in result order, and each result says how many bytes
  # it sent there.
  fetch @10 (partitions :List(FetchPartition), maxWaitMs :UInt32, minBytes :UInt32,
             useStream :Bool) -> (results :List(FetchResult));
  # Token to present on the fetch stream port: the first 16 bytes the client
  # sends after connecting. Binds that TCP connection to this session.
  openStream @11 () -> (token :Data, port :UInt16, error :Error);
  listOffsets @12 (topic :Text, partition :UInt32, timestampMs :Int64)
      -> (offset :Int64, error :Error);   # -1 = earliest, -2 = latest

  # --- consumer groups ---
  joinGroup @13 (group :Text, memberId :Text, clientId :Text, topics :List(Text),
                 sessionTimeoutMs :UInt32, strategy :Text)
      -> (result :JoinResult, error :Error);
  # Also returns the member's current assignment: when generation changed the
  # member must adopt the new assignment (and commit/revoke partitions it lost).
  heartbeat @14 (group :Text, memberId :Text, generation :Int32)
      -> (result :JoinResult, error :Error);
  leaveGroup @15 (group :Text, memberId :Text) -> (error :Error);
  commitOffsets @16 (group :Text, memberId :Text, generation :Int32,
                     offsets :List(PartitionOffset)) -> (error :Error);
  fetchOffsets @17 (group :Text, partitions :List(TopicPartition))
      -> (offsets :List(PartitionOffset), error :Error);

  # --- transactional messages (RocketMQ's model) ---
  # Registers this session to answer check-backs for a producer group: when
  # a half message of the group has neither commit nor rollback within the
  # transaction timeout, the broker calls checker.check on a session of that
  # group (again every check interval, up to the maximum count).
  registerChecker @18 (producerGroup :Text, checker :TransactionChecker) -> (error :Error);
  # Stores a half message (one batch, storage format) durably; consumers do
  # not see it until commit. A delay applies from the commit on. requestId
  # (up to 64 bytes, unique per producer group, e.g. random): a resend with
  # the same one gets the first call's txnId instead of a second transaction.
  sendHalf @19 (producerGroup :Text, topic :Text, partition :UInt32, batch :Data,
                deliverAtMs :Int64 = 0, delayLevel :UInt8 = 0, requestId :Text)
      -> (txnId :Text, error :Error);
  # Commit makes the message visible (appended to its partition now, or
  # scheduled when it carries a delay); rollback discards it. Repeating the
  # decision already taken is a no-op; the opposite one is refused with
  # txnAlreadyCommitted / txnAlreadyRolledBack.
  endTransaction @20 (txnId :Text, commit :Bool) -> (error :Error);
  # Open (and recently decided) transactions, for operators.
  listTransactions @21 () -> (transactions :List(TransactionInfo));

  # --- retries and dead letters ---
  # Negative acknowledgement by a group member of records it consumed: each
  # is redelivered to the group after the group's backoff (default 1s 5s 30s
  # 1m 5m, last repeats), or dead-lettered at once (reject) or once past
  # the group's max retries. The member may then commit past them.
  nack @22 (group :Text, memberId :Text, generation :Int32, records :List(NackRecord))
      -> (error :Error);
  # Moves dead letters back to their original topics: those of dlqTopic in
  # [fromOffset, toOffset) (toOffset -1 = to the end) whose reason matches
  # (empty = any). Refuses messages re-driven maxRedrive times or more.
  redrive @23 (dlqTopic :Text, reason :Text, fromOffset :Int64, toOffset :Int64)
      -> (moved :UInt64, refused :UInt64, nextOffset :Int64, error :Error);
  # The re-drive cursor of a DLQ: dead letters from this offset on are
  # pending (earlier ones were moved back or passed over by a re-drive).
  redriveCursor @24 (dlqTopic :Text) -> (offset :Int64, error :Error);
  # Dead letters since the broker started, per topic, group and reason.
  deadLetterStats @25 () -> (counts :List(DeadLetterCount));

  # --- cluster ---
  # Brokers, controller and per partition the leader, epoch, replicas and
  # in-sync set, as this broker sees them; topics empty = every topic.
  # Clients route produce and fetch to each partition's leader with it, and
  # ask again after notLeader.
  metadata @26 (topics :List(Text)) -> (metadata :ClusterMetadata);
  # The broker that coordinates a consumer group (joinGroup, heartbeat,
  # commits and fetchOffsets go there; others answer notCoordinator), or,
  # with kind transaction, the transactions of the producer group named by
  # `group` (sendHalf, registerChecker) or, when txnId is set, of that
  # transaction (endTransaction).
  findCoordinator @27 (group :Text, kind :CoordinatorKind = group, txnId :Text)
      -> (brokerId :Int32, address :Text, error :Error);

  # --- actor inspector (docs/inspector.md) ---
  # Every actor of this broker, or with cluster set of every broker of the
  # cluster (a broker that cannot be asked shows as down), with its mailbox,
  # messages handled and state: the JSON document that the HTTP port's
  # /api/cluster serves (docs/inspector.md, "JSON").
  inspect @28 (cluster :Bool = true) -> (json :Text, error :Error);

  # --- consumer groups, administration ---
  # Deletes a consumer group that has no live members: every committed
  # offset of it is forgotten (tombstones in __consumer_offsets, written with
  # the group's acks), and it leaves listGroups. groupNotEmpty while members
  # are joined, unknownGroup when it has neither members nor committed
  # offsets; at its coordinator only (others answer notCoordinator).
  deleteGroup @29 (group :Text) -> (error :Error);

  # --- topics, administration ---
  # Sets a topic's produce quotas (TopicConfig.producerByteRate and
  # producerMessageRate; -1 keeps a rate as it is, 0 removes it). Takes
  # effect at once for every connection, persisted with the topic's config;
  # in a cluster written by the controller (others redirect, as for
  # createTopic). unknownTopic, invalidTopic for a rate below -1.
  setTopicQuota @30 (name :Text, producerByteRate :Int64 = -1,
                     producerMessageRate :Int64 = -1) -> (error :Error);
}

enum CoordinatorKind {
  group @0;        # consumer groups: the leader of the group's __consumer_offsets partition
  transaction @1;  # transactions: the leader of the __transaction_state partition
}

# --- cluster metadata (docs/cluster.md) ---
# A single broker answers as a cluster of one: broker 0 at its own address,
# leader and controller of everything, epoch 0.

struct BrokerNode {
  id @0 :Int32;
  address @1 :Text;        # HOST:PORT of its RPC listener
  alive @2 :Bool;          # registered in the control plane (its lease is live)
  link @3 :PeerLink;       # the answering broker's CAF connection to it (PEERS actor)
  linkSinceMs @4 :Int64;   # wall-clock ms since the epoch link entered its state; 0 = unknown
  linkError @5 :Text;      # why the last connection attempt failed or was lost; "" if none
}

# Whether the broker that answered metadata has a live CAF (middleman)
# connection to a broker. Independent of alive: a broker can be registered
# in etcd (its lease kept alive) and still unreachable over the cluster port.
enum PeerLink {
  unknown @0;              # not known: an older broker, PEERS did not answer in time, or
                           # PEERS has not been told of the broker yet
  self @1;                 # the broker that answered (or a single broker)
  up @2;                   # connected, its node_info checked
  connecting @3;           # the first connection attempt has not ended
  down @4;                 # the attempt failed or the connection was lost; retrying
}

struct PartitionMetadata {
  partition @0 :UInt32;
  leader @1 :Int32;        # -1 = no leader: the partition is offline
  leaderEpoch @2 :Int32;   # +1 on every leader change
  replicas @3 :List(Int32);
  isr @4 :List(Int32);     # in-sync replicas
}

struct TopicMetadata {
  name @0 :Text;
  error @1 :Error;         # unknownTopic for a name asked for that does not exist
  replicationFactor @2 :UInt32;
  partitions @3 :List(PartitionMetadata);
}

struct ClusterMetadata {
  clusterId @0 :Text;      # "" for a single broker
  brokerId @1 :Int32;      # the broker that answered
  controllerId @2 :Int32;  # -1 = no controller right now
  brokers @3 :List(BrokerNode);
  topics @4 :List(TopicMetadata);
  controlPlaneUp @5 :Bool; # false: this broker cannot reach etcd (its view may be stale)
}

# Implemented by a transactional producer, called by the broker.
interface TransactionChecker {
  check @0 (txnId :Text, topic :Text, partition :UInt32, batch :Data, checkCount :UInt32)
      -> (status :TransactionStatus);
}

enum TransactionStatus {
  commit @0;
  rollback @1;
  unknown @2;   # ask again after the check interval
}

struct TransactionInfo {
  txnId @0 :Text;
  producerGroup @1 :Text;
  topic @2 :Text;
  partition @3 :UInt32;
  state @4 :Text;       # open, committed, rolled_back, unresolved
  ageMs @5 :Int64;
  checks @6 :UInt32;
  deliverAtMs @7 :Int64;
}

struct NackRecord {
  topic @0 :Text;
  partition @1 :UInt32;
  offset @2 :Int64;
  reject @3 :Bool;      # dead-letter now instead of retrying
  error @4 :Text;       # the consumer's error text, kept in the dead letter
  reason @5 :Text;      # dead-letter now with this reason (ttl_expired, max_retries); empty = retry
  deliveries @6 :UInt32;# delivery count known to the client (strict order mode); 0 = from headers
}

struct DeadLetterCount {
  topic @0 :Text;       # the original topic
  group @1 :Text;       # empty for dead letters of no group
  reason @2 :Text;      # max_retries, rejected, ttl_expired, queue_full
  count @3 :UInt64;
}
