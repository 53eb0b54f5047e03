# Mutations of the Raft core and of persist/ (rt_mutation, CMakeLists.txt),
# each caught by an invariant of rt/raft_check.c.
