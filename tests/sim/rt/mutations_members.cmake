# Mutations of membership and admission (rt_mutation, CMakeLists.txt),
# each caught by an invariant of the removed and lost servers.
