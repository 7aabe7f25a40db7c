/*
 * The failover election of Redis Cluster 7.0 and its configEpoch collision handling, checked
 * exhaustively by spin (spec/cluster.md, "Failover"). The rules are those of cluster.c in Redis
 * 7.0.15: clusterHandleSlaveFailover (the replica's side), clusterSendFailoverAuthIfNeeded (the
 * master's vote), the FAILOVER_AUTH_ACK count in clusterProcessPacket, clusterUpdateSlotsConfigWith
 * (slots claimed with a greater configEpoch win) and clusterHandleConfigEpochCollision.
 *
 * Five nodes; the order of their indices is the order of their names:
 *   0  the failed master: it serves slot A and never speaks again; its configEpoch is E0;
 *   1  a master serving slot B,  2  a master serving slot C (their configEpochs collide at the
 *      start, as after a cluster is created: collision handling must separate them);
 *   3, 4  replicas of node 0.
 * The masters serving slots are three (0, or whoever takes slot A, and 1 and 2): an election is
 * won with QUORUM = 2 votes.
 *
 * Node 0 is FAIL for every node from the start. (A master that has not learnt it yet refuses to
 * vote, as if the request came after its vote in the epoch for another replica, or never came:
 * the orders below cover that.) Then anything happens in any order, each step atomic:
 *   - a replica of node 0 schedules an election (the failover_auth_count is reset), later
 *     starts it at currentEpoch + 1 (it sends FAILOVER_AUTH_REQUEST to every node), may see it
 *     expire (auth_timeout) and schedule another one (auth_retry_time). Every delay -
 *     the fixed 500 ms, the random 0-500 ms and the rank's 1 s per better replica - is a wait of
 *     some length: the model lets a replica start at any time, which covers them all;
 *   - a node processes a request, votes or not by clusterSendFailoverAuthIfNeeded's rules (below),
 *     and a vote (FAILOVER_AUTH_ACK, carrying the voter's currentEpoch) reaches the replica, which
 *     counts it when it comes from a master serving slots with an epoch >= the election's;
 *   - a replica whose election is started, and not expired, with QUORUM votes wins: it becomes a
 *     master with configEpoch = the election's epoch and takes slot A;
 *   - a node receives a PING/PONG from another, which carries the sender's state as it is now
 *     (pings go on forever: a later one says all an earlier one said, and epochs only grow):
 *     currentEpoch, configEpoch, role, slots. The receiver takes the greater currentEpoch, rebinds
 *     slot A to a sender claiming it with a greater configEpoch than its owner's (and follows the
 *     sender if that left its master, or itself, without slots), and handles a configEpoch
 *     collision between two masters: the one with the smaller name takes currentEpoch + 1;
 *   - 2 x node timeout passes since a master's last vote (it may vote about node 0's replicas
 *     again);
 *   - a master bumps its configEpoch without consensus (CLUSTER FAILOVER TAKEOVER, the end of a
 *     resharding: clusterBumpConfigEpochWithoutConsensus), at most BUMPS times in all.
 *
 * A master votes for a request (replica r, epoch q, r's master's configEpoch E0) only when:
 * it is a master serving slots; q >= its currentEpoch (taken up to q first); it has not voted in
 * this epoch (lastVoteEpoch); r is a replica of node 0 (which is FAIL for it); it has not voted
 * about node 0's replicas within 2 x node timeout; the owner of slot A, as it knows it, has a
 * configEpoch <= E0. Then lastVoteEpoch = its currentEpoch. (Whether r is still a replica of node
 * 0 is taken from r itself: a replica that has learnt of a new owner of slot A follows it and
 * asks for no more votes.)
 *
 * What must hold:
 *   - at most one replica wins an epoch (asserted at each win);
 *   - once quiet (spin's timeout: nothing can happen any more), the masters' configEpochs are
 *     unique, every node names the same owner of slot A, and exactly one node claims it: a winner
 *     if any election was won, else still node 0.
 *
 * Messages the model does not lose are delivered in any order. By default a vote does not
 * outlive the election it answers: when a replica schedules a new election, votes (and
 * requests) still in flight to and from it are dropped. With -DLATE_VOTES they are not. Redis
 * then counts a late vote for the previous epoch towards the next election (failover_auth_count
 * is reset when the election is scheduled, failover_auth_epoch only when it starts, and a vote
 * counts when its epoch >= failover_auth_epoch): spin finds two replicas winning the same epoch.
 * With -DLATE_VOTES -DSHARED_EPOCHS_ALLOWED (that assertion left out) the quiet properties are
 * checked: collision handling separates the two winners' equal configEpochs and one of them ends
 * with slot A.
 *
 * Seeded mistakes, to show the check finds them (spin -a -DMISTAKE_TWO_VOTES cluster_election.pml):
 *   MISTAKE_TWO_VOTES     a master does not check lastVoteEpoch: it may vote twice in an epoch
 *   MISTAKE_NO_QUORUM     a replica wins with one vote
 *   MISTAKE_NO_COLLISION  no configEpoch collision handling
 */

#define N 5
#define FAILED 0
#define NOBODY 255
#define E0 1             /* the failed master's configEpoch */
#ifndef MAXEPOCH
#define MAXEPOCH 5       /* no election starts at a currentEpoch of MAXEPOCH or more */
#endif
#ifndef BUMPS
#define BUMPS 0          /* configEpoch bumps without consensus, in all */
#endif
#ifdef MISTAKE_NO_QUORUM
#define QUORUM 1
#else
#define QUORUM 2         /* a majority of the three masters serving slots */
#endif
#define EPOCHS 16        /* above any epoch reached: asserted */

/* election phases of a replica */
#define IDLE 0
#define SCHEDULED 1      /* failover_auth_count reset, requests not sent yet */
#define STARTED 2        /* failover_auth_sent: requests sent for failover_auth_epoch */
#define EXPIRED 3        /* older than auth_timeout: waits for auth_retry_time */

bool master[N];          /* the node is a master */
byte master_of[N];       /* a replica's master */
byte current[N];         /* currentEpoch */
byte config[N];          /* configEpoch */
byte last_vote[N];       /* lastVoteEpoch */
bool voted_recently[N];  /* voted about node 0's replicas less than 2 x node timeout ago */
byte owner[N];           /* the owner of slot A, as this node knows it */
byte owner_epoch[N];     /* that owner's configEpoch as this node knows it (unless itself) */

byte phase[N];           /* the replicas' elections */
byte auth_epoch[N];      /* failover_auth_epoch */
byte auth_count[N];      /* failover_auth_count, counted up to QUORUM */
byte request[N * N];     /* request[r * N + m]: epoch of r's request in flight to m, 0 if none */
byte vote[N * N];        /* vote[m * N + r]: epoch of m's vote in flight to r, 0 if none */

byte winner[EPOCHS];     /* who won each epoch */
byte bumps;
hidden byte k, old;

/* Nodes 1 and 2 always serve their own slot; the others serve slot A when they own it. */
#define serves_slots(i)  (master[i] && (i == 1 || i == 2 || owner[i] == i))
#define claims_a(i)      (master[i] && owner[i] == i)
#define known_epoch(j)   (owner[j] == j -> config[j] : owner_epoch[j])
#define live(i)          (i != FAILED)

#ifdef MISTAKE_NO_COLLISION
#define collides(i, j)   false
#else
/* i's PING reaches j: both masters, the same configEpoch, j's name the smaller */
#define collides(i, j)   (master[i] && master[j] && config[i] == config[j] && i > j)
#endif

/* Would i's PING change anything at j? (If not, its delivery is no step.) */
#define informs(i, j) (current[i] > current[j] \
    || (claims_a(i) && owner[j] != i && known_epoch(j) < config[i]) \
    || (claims_a(i) && owner[j] == i && owner_epoch[j] < config[i]) \
    || collides(i, j))

inline take_epoch(j, epoch) {
    if
    :: epoch > current[j] -> current[j] = epoch
    :: else -> skip
    fi;
    assert(current[j] < EPOCHS)
}

/* clusterProcessPacket for a PING or PONG from i, as far as this model goes */
inline ping(i, j) {
    take_epoch(j, current[i]);
    if
    :: claims_a(i) && owner[j] == i && owner_epoch[j] < config[i] -> owner_epoch[j] = config[i]
    :: claims_a(i) && owner[j] != i && known_epoch(j) < config[i] ->   /* clusterUpdateSlotsConfigWith */
        old = owner[j];
        owner[j] = i;
        owner_epoch[j] = config[i];
        if
        :: old == j ->   /* j lost its only slot: it becomes the sender's replica */
            master[j] = false;
            master_of[j] = i;
            phase[j] = IDLE
        :: !master[j] && old == master_of[j] ->   /* j's master lost its only slot: follow the sender */
            master_of[j] = i;
            phase[j] = IDLE
        :: else -> skip
        fi
    :: else -> skip
    fi;
    if
    :: collides(i, j) ->   /* clusterHandleConfigEpochCollision */
        current[j]++;
        config[j] = current[j];
        assert(current[j] < EPOCHS)
    :: else -> skip
    fi
}

#ifdef MISTAKE_TWO_VOTES
#define not_voted_in_epoch(m) true
#else
#define not_voted_in_epoch(m) (last_vote[m] != current[m])
#endif

/* clusterSendFailoverAuthIfNeeded: master m processes the request of replica r */
inline process_request(r, m) {
    take_epoch(m, request[r * N + m]);
    if
    :: serves_slots(m) && request[r * N + m] >= current[m] && not_voted_in_epoch(m) &&
       !master[r] && master_of[r] == FAILED && !voted_recently[m] && known_epoch(m) <= E0 ->
        last_vote[m] = current[m];
        voted_recently[m] = true;
        vote[m * N + r] = current[m]
    :: else -> skip
    fi;
    request[r * N + m] = 0
}

/* a vote of m reaches r (FAILOVER_AUTH_ACK in clusterProcessPacket) */
inline count_vote(m, r) {
    take_epoch(r, vote[m * N + r]);
    if
    :: serves_slots(m) && vote[m * N + r] >= auth_epoch[r] && auth_count[r] < QUORUM -> auth_count[r]++
    :: else -> skip
    fi;
    vote[m * N + r] = 0
}

inline schedule(r) {
    phase[r] = SCHEDULED;
    auth_count[r] = 0;
#ifndef LATE_VOTES
    for (k : 0 .. N - 1) {
        vote[k * N + r] = 0;
        request[r * N + k] = 0
    }
#endif
}

inline start(r) {
    current[r]++;
    auth_epoch[r] = current[r];
    for (k : 1 .. N - 1) {
        if
        :: k != r -> request[r * N + k] = current[r]
        :: else -> skip
        fi
    }
    phase[r] = STARTED
}

/* clusterHandleSlaveFailover's win, clusterFailoverReplaceYourMaster */
inline win(r) {
#ifndef SHARED_EPOCHS_ALLOWED
    assert(winner[auth_epoch[r]] == NOBODY);   /* at most one replica wins an epoch */
#endif
    winner[auth_epoch[r]] = r;
    master[r] = true;
    if
    :: config[r] < auth_epoch[r] -> config[r] = auth_epoch[r]
    :: else -> skip
    fi;
    owner[r] = r;
    phase[r] = IDLE
}

#define can_elect(r) (!master[r] && master_of[r] == FAILED)

/* Every step a node can take, for the live nodes 1-4. */
#define PING(i, j) :: atomic { informs(i, j) -> ping(i, j) }
#define REQUEST(r, m) :: atomic { request[r * N + m] != 0 -> process_request(r, m) }
#define VOTE(m, r) :: atomic { vote[m * N + r] != 0 -> count_vote(m, r) }
#define FORGETS_VOTE(i) :: atomic { voted_recently[i] -> voted_recently[i] = false }
#define BUMP(i) :: atomic { master[i] && bumps < BUMPS && config[i] != current[i] -> \
                            bumps++; current[i]++; config[i] = current[i] }
#define REPLICA(r) \
    :: atomic { can_elect(r) && (phase[r] == IDLE || phase[r] == EXPIRED) -> schedule(r) } \
    :: atomic { can_elect(r) && phase[r] == SCHEDULED && current[r] < MAXEPOCH -> start(r) } \
    :: atomic { phase[r] == STARTED -> phase[r] = EXPIRED } \
    :: atomic { can_elect(r) && phase[r] == STARTED && auth_count[r] >= QUORUM -> win(r) }

/* Once nothing can happen: configEpochs of masters unique, one owner of slot A known to all. */
inline check_quiet() {
    byte i, j, claimants, someone_won;
    for (i : 1 .. N - 1) {
        for (j : 1 .. N - 1) {
            assert(i == j || !master[i] || !master[j] || config[i] != config[j]);
            assert(owner[i] == owner[j])
        }
        if
        :: claims_a(i) -> claimants++
        :: else -> skip
        fi
    }
    for (i : 0 .. EPOCHS - 1) {
        if
        :: winner[i] != NOBODY -> someone_won = true
        :: else -> skip
        fi
    }
    assert(claimants == 1 && someone_won || claimants == 0 && !someone_won && owner[1] == FAILED)
}

active proctype cluster() {
    for (k : 0 .. N - 1) {
        current[k] = 2;
        owner[k] = FAILED;
        owner_epoch[k] = E0;
        master_of[k] = NOBODY;
        master[k] = k <= 2
    }
    for (k : 0 .. EPOCHS - 1) {
        winner[k] = NOBODY
    }
    config[0] = E0;
    config[1] = 2;
    config[2] = 2;
    master_of[3] = FAILED;
    master_of[4] = FAILED;
    do
    PING(1, 2) PING(1, 3) PING(1, 4) PING(2, 1) PING(2, 3) PING(2, 4)
    PING(3, 1) PING(3, 2) PING(3, 4) PING(4, 1) PING(4, 2) PING(4, 3)
    REQUEST(3, 1) REQUEST(3, 2) REQUEST(3, 4) REQUEST(4, 1) REQUEST(4, 2) REQUEST(4, 3)
    VOTE(1, 3) VOTE(2, 3) VOTE(4, 3) VOTE(1, 4) VOTE(2, 4) VOTE(3, 4)
    FORGETS_VOTE(1) FORGETS_VOTE(2) FORGETS_VOTE(3) FORGETS_VOTE(4)
    BUMP(1) BUMP(2) BUMP(3) BUMP(4)
    REPLICA(3) REPLICA(4)
    :: timeout -> check_quiet(); break
    od
}
