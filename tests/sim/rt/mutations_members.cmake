# Mutations of membership and admission (rt_mutation, CMakeLists.txt),
# each caught by an invariant of the removed and lost servers.

# I13's check (rt/removed.c) is part of the world: built here, with the
# membership checks it belongs to.
target_sources(coord_rtsim_world PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/rt/removed.c)
