# Mutations of membership and admission (rt_mutation, CMakeLists.txt),
# each caught by an invariant of the removed and lost servers.

# rt_mutation_also(NAME FILE OLD NEW): coord-sim-NAME, made by
# rt_mutation, has a second file changed, one of a library the runtime
# links (FILE with its folder, raft/election.c): the copy's object is
# linked ahead of that static library, as rt_mutation's own is.
function(rt_mutation_also name file old new)
  if(NOT file MATCHES "/")
    message(FATAL_ERROR "runtime mutation ${name}: ${file} is not a library's file")
  endif()
  rt_mutated_copy(${name} ${file} "${old}" "${new}")
  target_sources(coord-sim-${name} PRIVATE ${MUTATED})
  target_include_directories(coord-sim-${name} PRIVATE ${MUTATED_DIR})
endfunction()

# I13 (thesis 4.2.3): a removed server that keeps running with its data
# never disrupts the cluster. Two defences guard it, and one broken alone
# shows nothing (each tried over seeds 1-600, none caught):
#  - the admission rule (node_join.c: ADMIT_STRANGER treated as ADMIT_OK)
#    lets the removed server talk to the members again, but pre-vote still
#    stops it: a majority of the configuration it knows holds the removal,
#    which it lacks, so it never wins a pre-vote quorum and never asks for
#    a vote, and pre-votes change no term (thesis 9.6);
#  - pre-votes granted without the up-to-date log check (raft/election.c)
#    would let it win one, but the members cannot answer it: a node drops
#    the peer that left its configuration and refuses its HELLO, so only a
#    member lagging behind the removal answers, never a quorum (its
#    pre-votes still reach the members on the connections it dialled
#    before its removal, which the members keep).
# Both broken, the removed server wins a pre-vote while the members wait
# for a leader, and its vote request raises their term.
rt_mutation(admit-strangers-prevote node_join.c "I13: "
  "\tcase ADMIT_OK:\n\t\tnote_founding(n, n->sealing"
  "\tcase ADMIT_STRANGER:\n\tcase ADMIT_OK:\n\t\tnote_founding(n, n->sealing")
rt_mutation_also(admit-strangers-prevote raft/election.c
  "election_respond(r, m, m->term > r->hs.term && up_to_date);"
  "election_respond(r, m, m->term > r->hs.term);")
