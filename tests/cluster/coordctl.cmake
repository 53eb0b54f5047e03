# coordctl and the curl examples against real clusters (tests/cluster/harness.py).
set(COORDCTL_TESTS
  test_cmd_sees_lock_session_and_token_and_everything_is_released_after
  test_exit_status_of_cmd_is_passed_through
  test_two_concurrent_locks_on_one_name_never_overlap
  test_wait_expiring_gives_75_and_cmd_never_runs
  test_elect_and_leader_watch_show_each_change
  test_frozen_cluster_stops_cmd_before_the_lease_can_lapse_and_exits_76
  test_help_of_every_command_has_examples
  test_endpoint_list_survives_a_dead_first_node
  test_example_cron_job_never_overlaps_and_runs_again_later
  test_example_service_runs_only_while_elected
  test_example_waits_for_a_leaders_address
  test_session_acquire_and_release_commands_compose_in_a_script
  test_locks_and_session_list_read_every_page_and_print_one_object
  test_signal_while_waiting_for_the_lock_withdraws_and_exits_128_plus_n
  test_cmd_keeps_running_across_a_leader_failover
  test_cmd_keeps_running_when_the_leader_freezes_alone
  test_snapshot_save_then_info_and_a_damaged_copy_is_refused)
coord_cluster_tests(cluster_coordctl test_coordctl.py
  "COORDD=$<TARGET_FILE:coordd>;COORDCTL=$<TARGET_FILE:coordctl>" ${COORDCTL_TESTS})

# The README's runbook (replace, grow, drain, move, back up, restore), end to
# end on loopback with coordd and coordctl.
add_test(NAME cluster_readme_runbook
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_runbook.py)
set_tests_properties(cluster_readme_runbook PROPERTIES LABELS cluster TIMEOUT 300
  ENVIRONMENT "COORDD=$<TARGET_FILE:coordd>;COORDCTL=$<TARGET_FILE:coordctl>")

# coordctl over HTTPS: --cacert, --cert/--key and their environment variables.
coord_cluster_tests(tls test_tls.py
  "COORDD=$<TARGET_FILE:coordd>;COORDCTL=$<TARGET_FILE:coordctl>"
  test_coordctl_with_cacert_and_client_certificate_end_to_end)

# coordctl with access control: auth bootstrap, token create/list/revoke,
# --token, $COORD_TOKEN and --token-file, a restricted token, a revoked one.
set(COORDCTL_AUTH_TESTS
  test_bootstrap_then_create_list_and_revoke_tokens
  test_token_flag_environment_and_file_each_work_flags_first
  test_a_token_for_jobs_locks_under_jobs_only
  test_a_revoked_token_is_refused_with_401)
coord_cluster_tests(cluster_coordctl_auth test_coordctl_auth.py
  "COORDD=$<TARGET_FILE:coordd>;COORDCTL=$<TARGET_FILE:coordctl>" ${COORDCTL_AUTH_TESTS})

# coordctl's keys: kv put/get/del/ls, refused conditions, kv watch across a
# failover and a compacted history, register, the name-service example.
set(COORDCTL_KV_TESTS
  test_put_get_del_and_ls_print_what_the_cluster_answers
  test_refused_conditions_exit_1_and_change_nothing
  test_watch_prints_each_change_once_and_resumes_after_a_failover
  test_watch_from_a_compacted_index_lists_again_and_goes_on
  test_register_keeps_its_key_exactly_while_cmd_runs
  test_register_stops_cmd_and_exits_76_when_the_session_is_lost
  test_example_name_service_shows_the_live_set_after_each_change
  test_help_of_kv_and_register_has_examples)
coord_cluster_tests(cluster_coordctl_kv test_coordctl_kv.py
  "COORDD=$<TARGET_FILE:coordd>;COORDCTL=$<TARGET_FILE:coordctl>" ${COORDCTL_KV_TESTS})
