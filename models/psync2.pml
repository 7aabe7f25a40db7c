/*
 * PSYNC2's rules, checked exhaustively by spin (spec/replication.md, "Partial resynchronization").
 *
 * Three nodes, each a master or the replica of another (chains allowed), each with a history:
 * the writes it holds, in order. A write has a token of its own; a node's offset is the length of
 * its history. Every node has a replication id (replid), the id before it (replid2) and the first
 * offset that replid2 does not cover (second, Redis's second_repl_offset, 1-based like psync's
 * offset), and maybe a backlog: the writes from offset bl_start on.
 *
 * Anything may happen in any order: a master takes a write; a linked replica receives the next
 * write of its master's stream; a link breaks; an unlinked replica asks its master for
 * PSYNC <replid> <offset+1> and gets +CONTINUE or a full resync by the rules below; a replica is
 * promoted (REPLICAOF NO ONE); a node is pointed at another (REPLICAOF host port); a node restarts
 * from its own saved state, or empty.
 *
 * What must hold, always:
 *   - a replica accepts +CONTINUE only when its history is a prefix of its new master's history
 *     (the assertion in psync);
 *   - one replication id names one history: two nodes with the same replid hold histories of
 *     which the shorter is a prefix of the longer (and so do the writes below `second` of a
 *     replid2 and the same id elsewhere);
 *   - a linked replica's history is a prefix of its master's;
 *   - a node's offset only grows, but for a full resync or an empty restart, which replace the
 *     history (the stream appends exactly one write at a time: asserted there).
 *
 * Seeded mistakes, to show the check finds them (`spin -a -DMISTAKE_NO_SHIFT psync2.pml`):
 *   MISTAKE_NO_SHIFT        promotion keeps the old id instead of moving it to replid2
 *   MISTAKE_NO_SECOND_CHECK the master accepts its replid2 at any offset, not only below second
 *   MISTAKE_ANY_ID          the master checks no id at all, only that its backlog covers the offset
 * (A master that never accepted its replid2 would be safe, only slower: every replica of an old
 * master would resync in full after a promotion.)
 */

/* The bounds of the search; each can be given with -D (spin -a -DMAXID=5 psync2.pml). */
#define N 3          /* nodes */
#ifndef L
#define L 3          /* the longest history */
#endif
#ifndef B
#define B 2          /* backlog size, in writes */
#endif
#ifndef MAXID
#define MAXID 6      /* replication ids made, in all, counting the first three */
#endif
#ifndef MAXTOKEN
#define MAXTOKEN 5   /* one more than the writes made, in all */
#endif
#define NONE 255

typedef Node {
    byte master;       /* NONE: it is a master */
    bool linked;       /* a replica whose link is up and synced */
    byte replid;
    byte replid2;      /* 0: none */
    byte second;       /* first psync offset (1-based) replid2 does not cover */
    byte offset;
    byte hist[L];
    bool has_backlog;
    byte bl_start;     /* first 1-based offset in the backlog; offset + 1 when it is empty */
}

Node n[N];
byte next_id = 1;
byte next_token = 1;

inline fresh_id(x) {
    x = next_id;
    next_id++
}

/* The backlog keeps at most B writes. */
inline trim_backlog(i) {
    if
    :: n[i].has_backlog && n[i].offset + 1 - n[i].bl_start > B -> n[i].bl_start = n[i].offset + 1 - B
    :: else -> skip
    fi
}

/* A node whose history or ids change drops its replicas' links: they must PSYNC again. */
inline disconnect_replicas_of(i) {
    for (k : 0 .. N - 1) {
        if
        :: n[k].master == i -> n[k].linked = false
        :: else -> skip
        fi
    }
}

/* prefix_ok: the first `count` writes of a and b are the same. */
hidden byte prefix_ok;
inline same_prefix(a, b, count) {
    prefix_ok = true;
    for (k : 0 .. L - 1) {
        if
        :: k < count && n[a].hist[k] != n[b].hist[k] -> prefix_ok = false
        :: else -> skip
        fi
    }
}

inline min2(x, y, out) {
    if
    :: x < y -> out = x
    :: else -> out = y
    fi
}

hidden byte i, j, m, k, wanted, shorter;
hidden byte ok;

inline check_invariants() {
    for (i : 0 .. N - 1) {
        /* a linked replica holds a prefix of its master's history */
        if
        :: n[i].master != NONE && n[i].linked ->
            m = n[i].master;
            assert(n[i].offset <= n[m].offset);
            same_prefix(i, m, n[i].offset);
            assert(prefix_ok)
        :: else -> skip
        fi;
        for (j : 0 .. N - 1) {
            /* one id, one history */
            if
            :: i != j && n[i].replid == n[j].replid ->
                min2(n[i].offset, n[j].offset, shorter);
                same_prefix(i, j, shorter);
                assert(prefix_ok)
            :: else -> skip
            fi;
            /* replid2 names the old history below second */
            if
            :: i != j && n[i].replid2 != 0 && (n[i].replid2 == n[j].replid || n[i].replid2 == n[j].replid2) ->
                min2(n[i].offset, n[j].offset, shorter);
                min2(shorter, n[i].second - 1, shorter);
                if
                :: n[i].replid2 == n[j].replid2 -> min2(shorter, n[j].second - 1, shorter)
                :: else -> skip
                fi;
                same_prefix(i, j, shorter);
                assert(prefix_ok)
            :: else -> skip
            fi
        }
    }
}

/* Replica r asks master m for PSYNC <replid> <offset + 1>: +CONTINUE by the rules, else a full
 * resynchronization. */
inline psync(r, m) {
    wanted = n[r].offset + 1;
#if defined(MISTAKE_ANY_ID)
    ok = true;
#elif defined(MISTAKE_NO_SECOND_CHECK)
    ok = n[r].replid == n[m].replid || n[r].replid == n[m].replid2;
#else
    ok = n[r].replid == n[m].replid || (n[m].replid2 != 0 && n[r].replid == n[m].replid2 && wanted <= n[m].second);
#endif
    ok = ok && n[m].has_backlog && wanted >= n[m].bl_start && wanted <= n[m].offset + 1;
    if
    :: ok ->   /* +CONTINUE: the replica keeps its data and takes the stream from `wanted` */
        same_prefix(r, m, n[r].offset);
        assert(prefix_ok);
        if
        :: n[r].replid != n[m].replid ->   /* the master's history goes on under a new id */
            n[r].replid2 = n[r].replid;
            n[r].second = wanted;
            n[r].replid = n[m].replid;
            disconnect_replicas_of(r)
        :: else -> skip
        fi;
        n[r].linked = true;
        check_invariants()
    :: !ok && (n[m].has_backlog || next_id < MAXID) ->   /* +FULLRESYNC: the master's data replaces the replica's */
        if
        :: !n[m].has_backlog ->   /* a master making its first backlog takes a new id (syncCommand) */
            fresh_id(n[m].replid);
            n[m].replid2 = 0;
            n[m].second = 0;
            n[m].has_backlog = true;
            n[m].bl_start = n[m].offset + 1;
            disconnect_replicas_of(m)
        :: else -> skip
        fi;
        for (k : 0 .. L - 1) {
            n[r].hist[k] = n[m].hist[k]
        }
        n[r].offset = n[m].offset;
        n[r].replid = n[m].replid;
        n[r].replid2 = 0;
        n[r].second = 0;
        n[r].has_backlog = true;
        n[r].bl_start = n[r].offset + 1;
        disconnect_replicas_of(r);
        n[r].linked = true;
        check_invariants()
    :: else -> skip   /* out of ids: not explored further */
    fi
}

/* Each step picks its nodes with select, then acts if the step applies to them, else does
 * nothing (a select that could block would end the search in an invalid end state). */
active proctype world() {
    /* Three masters with empty histories, ids 1..3. */
    for (i : 0 .. N - 1) {
        n[i].master = NONE;
        fresh_id(n[i].replid);
        n[i].bl_start = 1
    }
    do
    :: atomic {   /* a master takes a write */
        select(i : 0 .. N - 1);
        if
        :: n[i].master == NONE && n[i].offset < L && next_token < MAXTOKEN ->
            n[i].hist[n[i].offset] = next_token;
            next_token++;
            n[i].offset++;
            trim_backlog(i);
            check_invariants()
        :: else -> skip
        fi
       }
    :: atomic {   /* a linked replica receives the next write of its master's stream */
        select(i : 0 .. N - 1);
        if
        :: n[i].master != NONE && n[i].linked && n[n[i].master].offset > n[i].offset ->
            m = n[i].master;
            wanted = n[i].offset + 1;
            n[i].hist[n[i].offset] = n[m].hist[n[i].offset];
            n[i].offset++;
            assert(n[i].offset == wanted);
            trim_backlog(i);
            check_invariants()
        :: else -> skip
        fi
       }
    :: atomic {   /* a link breaks */
        select(i : 0 .. N - 1);
        n[i].linked = false
       }
    :: atomic {   /* an unlinked replica asks for PSYNC <replid> <offset + 1>; a replica serves
                     PSYNC only while linked to its own master (-NOMASTERLINK) */
        select(i : 0 .. N - 1);
        m = n[i].master;
        if
        :: m != NONE && !n[i].linked && (n[m].master == NONE || n[m].linked) ->
            psync(i, m)
        :: else -> skip
        fi
       }
    :: atomic {   /* REPLICAOF NO ONE */
        select(i : 0 .. N - 1);
        if
        :: n[i].master != NONE && next_id < MAXID ->
            n[i].master = NONE;
            n[i].linked = false;
#ifndef MISTAKE_NO_SHIFT
            n[i].replid2 = n[i].replid;
            n[i].second = n[i].offset + 1;
            fresh_id(n[i].replid);
#endif
            disconnect_replicas_of(i);   /* they learn the new id by PSYNC (replicationUnsetMaster) */
            check_invariants()
        :: else -> skip
        fi
       }
    :: atomic {   /* REPLICAOF j: i keeps its own id and offset to PSYNC with; chains are
                     allowed, cycles not (j must not replicate from i, directly or through k) */
        select(i : 0 .. N - 1);
        select(j : 0 .. N - 1);
        k = n[j].master;
        if
        :: i != j && n[i].master != j && k != i && (k == NONE || n[k].master != i) ->
            n[i].master = j;
            n[i].linked = false;
            disconnect_replicas_of(i);
            check_invariants()
        :: else -> skip
        fi
       }
    :: atomic {   /* a restart from its own saved state: ids, offset and history as they were */
        select(i : 0 .. N - 1);
        n[i].linked = false;
        n[i].bl_start = n[i].offset + 1;   /* the backlog is not saved */
        n[i].has_backlog = n[i].master != NONE;
        disconnect_replicas_of(i);
        check_invariants()
       }
    :: atomic {   /* a restart with no persistence: empty, a new id */
        select(i : 0 .. N - 1);
        if
        :: next_id < MAXID ->
            for (k : 0 .. L - 1) {
                n[i].hist[k] = 0
            }
            n[i].offset = 0;
            fresh_id(n[i].replid);
            n[i].replid2 = 0;
            n[i].second = 0;
            n[i].has_backlog = false;
            n[i].bl_start = 1;
            n[i].linked = false;
            disconnect_replicas_of(i);
            check_invariants()
        :: else -> skip
        fi
       }
    od
}
