# Mutations of the Raft core and of persist/ (rt_mutation, CMakeLists.txt),
# each caught by an invariant of raft_check.c, or by the clients' checks
# of the API (C-2, C-4) when the rule it breaks guards what a read answers.

# Rule 5 (raft/read.c, b): a read served without a quorum's answer to a
# heartbeat round that started after it arrived: a deposed leader that has
# not heard of its successor answers from its own state.
rt_mutation(read-without-round raft/read.c "C-[24]: "
  "if (p->index == 0 || p->round > r->read_round ||\n\t\t    !progress_quorum_read(r, p->round)) {"
  "if (p->index == 0) {")

# Figure 3.1, AppendEntries rule 3: a follower deletes entries only from
# the first that conflicts. One that truncates at the first entry of every
# APPEND, matching or not, loses what it held beyond the message, which it
# had acknowledged (the leader counted it) when a late or duplicated
# APPEND arrives after later ones (I9 within a life; I8 if it had
# committed them).
rt_mutation(truncate-every-append raft/replication.c "I[89]: "
  "\t\t\tif (term == e->term) {\n\t\t\t\tmatched = e->index;"
  "\t\t\tif (term == e->term && i > 0) {\n\t\t\t\tmatched = e->index;")

# Rule 2 (persist/log_write.c): a log write returns once its entries are
# durable. A disk that drops the last entry of each batch at a power loss
# (it leaves the transaction and is committed after it without an fsync:
# the next batch's fsync would cover it) loses an entry its node
# acknowledged, or counted as the leader's own.
rt_mutation(disk-drops-last persist/log_write.c "I[2-69]: "
  "\t\trc = writeRows(log, w, &what);\n\t}\n\tif (rc == SQLITE_DONE) {\n\t\twhat = \"commit (WAL write and fsync)\";\n\t\trc = persist_db_exec(log->stmt.commit);\n\t}"
  "\t\trc = writeRows(log, w, &what);\n\t}\n\tif (rc == SQLITE_DONE && w->n_entries > 0)\n\t\trc = deleteWhere(log->stmt.truncate, w->entries[w->n_entries - 1].index);\n\tif (rc == SQLITE_DONE) {\n\t\twhat = \"commit (WAL write and fsync)\";\n\t\trc = persist_db_exec(log->stmt.commit);\n\t}\n\tif (rc == SQLITE_DONE && w->n_entries > 0) {\n\t\trc = persist_db_exec(log->stmt.sync_lazy);\n\t\tif (rc == SQLITE_DONE)\n\t\t\trc = putEntry(log, &w->entries[w->n_entries - 1]);\n\t\tif (rc == SQLITE_DONE)\n\t\t\trc = persist_db_exec(log->stmt.sync_full);\n\t}")

# The teeth of I1, I8 and I11: each mutation below breaks the one rule that
# invariant states, and that invariant is the first to report it.

# I1, thesis 3.6.1: a candidate that wins its election with its own vote
# alone (once its pre-vote won): two nodes whose pre-votes both won lead
# the same term.
rt_mutation(candidate-wins-alone raft/election.c "I1: "
  "\tif (core_quorum(&r->conf, r->granted, r->n_granted)) {\n\t\telection_won(r, pre_vote);"
  "\tif (!pre_vote || core_quorum(&r->conf, r->granted, r->n_granted)) {\n\t\telection_won(r, pre_vote);")

# I8: a commit index that follows whatever a leader's message carries, down
# too (a heartbeat carries at most what the leader knows the follower holds).
rt_mutation(commit-goes-back raft/replication.c "I8: "
  "\tif (commit > r->hs.commit) {\n\t\tr->hs.commit = commit;"
  "\tif (commit != r->hs.commit) {\n\t\tr->hs.commit = commit;")

# I11, rule 10: a leader accepts a membership change before an entry of its
# term committed, while the configuration in force may be an uncommitted
# one of an earlier term that a later leader can still drop (the bug of
# single-server changes the rule fixes, raft-dev 2015).
rt_mutation(change-before-ready raft/membership.c "I11: "
  "if (!r->leader_ready || membership_change_in_flight(r) || r->transfer_target != 0) {"
  "if (membership_change_in_flight(r) || r->transfer_target != 0) {")
