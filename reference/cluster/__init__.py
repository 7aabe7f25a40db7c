"""Redis Cluster as Redis 7.0 does it (spec/cluster.md). So far the foundations, each without
I/O and not yet used by the server:

- slots.py: key slots (CRC-16 and hash tags), slot bitmaps and ranges;
- bus.py: the cluster bus messages: encoding, decoding, cutting a link's bytes into messages;
- nodes_conf.py: the nodes.conf file, read and written;
- state.py: one node's view of the cluster and how each received message changes it.
"""
