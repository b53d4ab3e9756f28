/* test_valkey_info.c — unit tests for controller/valkey_info.c, the parser of Valkey INFO
 * replies (untrusted input). The fixtures are real INFO outputs of redis-server 7.0.15 (the
 * local stand-in for Valkey): a primary with one replica, that replica, the same replica after
 * its primary was killed, and a boot-fenced replica of 192.0.2.1 (tests/fuzz/corpus/valkey_info
 * holds the same outputs as files). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "valkey_info.h"

/* ---- real INFO outputs (redis-server 7.0.15 on loopback) --------------------------------- */

static const char PRIMARY_INFO[] =
    "# Server\r\n"
    "redis_version:7.0.15\r\n"
    "redis_git_sha1:00000000\r\n"
    "redis_git_dirty:0\r\n"
    "redis_build_id:ae4d7c971a948f0\r\n"
    "redis_mode:standalone\r\n"
    "os:Linux 6.18.44-fc-v782 x86_64\r\n"
    "arch_bits:64\r\n"
    "monotonic_clock:POSIX clock_gettime\r\n"
    "multiplexing_api:epoll\r\n"
    "atomicvar_api:c11-builtin\r\n"
    "gcc_version:12.2.0\r\n"
    "process_id:22735\r\n"
    "process_supervised:no\r\n"
    "run_id:f6b6dace0efc50d23ec184471ad7cf1fc4b70359\r\n"
    "tcp_port:22933\r\n"
    "server_time_usec:1795550616129242\r\n"
    "uptime_in_seconds:20\r\n"
    "uptime_in_days:0\r\n"
    "hz:10\r\n"
    "configured_hz:10\r\n"
    "lru_clock:388504\r\n"
    "executable:/tmp/h9r/redis-server\r\n"
    "config_file:\r\n"
    "io_threads_active:0\r\n"
    "\r\n"
    "# Clients\r\n"
    "connected_clients:1\r\n"
    "cluster_connections:0\r\n"
    "maxclients:10000\r\n"
    "client_recent_max_input_buffer:20480\r\n"
    "client_recent_max_output_buffer:20504\r\n"
    "blocked_clients:0\r\n"
    "tracking_clients:0\r\n"
    "clients_in_timeout_table:0\r\n"
    "\r\n"
    "# Memory\r\n"
    "used_memory:1079136\r\n"
    "used_memory_human:1.03M\r\n"
    "used_memory_rss:12488704\r\n"
    "used_memory_rss_human:11.91M\r\n"
    "used_memory_peak:1079136\r\n"
    "used_memory_peak_human:1.03M\r\n"
    "used_memory_peak_perc:100.18%\r\n"
    "used_memory_overhead:908940\r\n"
    "used_memory_startup:876184\r\n"
    "used_memory_dataset:170196\r\n"
    "used_memory_dataset_perc:83.86%\r\n"
    "allocator_allocated:1504224\r\n"
    "allocator_active:1839104\r\n"
    "allocator_resident:4685824\r\n"
    "total_system_memory:25276026880\r\n"
    "total_system_memory_human:23.54G\r\n"
    "used_memory_lua:32768\r\n"
    "used_memory_vm_eval:32768\r\n"
    "used_memory_lua_human:32.00K\r\n"
    "used_memory_scripts_eval:0\r\n"
    "number_of_cached_scripts:0\r\n"
    "number_of_functions:0\r\n"
    "number_of_libraries:0\r\n"
    "used_memory_vm_functions:33792\r\n"
    "used_memory_vm_total:66560\r\n"
    "used_memory_vm_total_human:65.00K\r\n"
    "used_memory_functions:200\r\n"
    "used_memory_scripts:200\r\n"
    "used_memory_scripts_human:200B\r\n"
    "maxmemory:0\r\n"
    "maxmemory_human:0B\r\n"
    "maxmemory_policy:noeviction\r\n"
    "allocator_frag_ratio:1.22\r\n"
    "allocator_frag_bytes:334880\r\n"
    "allocator_rss_ratio:2.55\r\n"
    "allocator_rss_bytes:2846720\r\n"
    "rss_overhead_ratio:2.67\r\n"
    "rss_overhead_bytes:7802880\r\n"
    "mem_fragmentation_ratio:12.03\r\n"
    "mem_fragmentation_bytes:11450200\r\n"
    "mem_not_counted_for_evict:0\r\n"
    "mem_replication_backlog:20508\r\n"
    "mem_total_replication_buffers:20504\r\n"
    "mem_clients_slaves:0\r\n"
    "mem_clients_normal:0\r\n"
    "mem_cluster_links:0\r\n"
    "mem_aof_buffer:0\r\n"
    "mem_allocator:jemalloc-5.3.0\r\n"
    "active_defrag_running:0\r\n"
    "lazyfree_pending_objects:0\r\n"
    "lazyfreed_objects:0\r\n"
    "\r\n"
    "# Persistence\r\n"
    "loading:0\r\n"
    "async_loading:0\r\n"
    "current_cow_peak:0\r\n"
    "current_cow_size:0\r\n"
    "current_cow_size_age:0\r\n"
    "current_fork_perc:0.00\r\n"
    "current_save_keys_processed:0\r\n"
    "current_save_keys_total:0\r\n"
    "rdb_changes_since_last_save:250\r\n"
    "rdb_bgsave_in_progress:0\r\n"
    "rdb_last_save_time:1795550596\r\n"
    "rdb_last_bgsave_status:ok\r\n"
    "rdb_last_bgsave_time_sec:0\r\n"
    "rdb_current_bgsave_time_sec:-1\r\n"
    "rdb_saves:0\r\n"
    "rdb_last_cow_size:356352\r\n"
    "rdb_last_load_keys_expired:0\r\n"
    "rdb_last_load_keys_loaded:0\r\n"
    "aof_enabled:0\r\n"
    "aof_rewrite_in_progress:0\r\n"
    "aof_rewrite_scheduled:0\r\n"
    "aof_last_rewrite_time_sec:-1\r\n"
    "aof_current_rewrite_time_sec:-1\r\n"
    "aof_last_bgrewrite_status:ok\r\n"
    "aof_rewrites:0\r\n"
    "aof_rewrites_consecutive_failures:0\r\n"
    "aof_last_write_status:ok\r\n"
    "aof_last_cow_size:0\r\n"
    "module_fork_in_progress:0\r\n"
    "module_fork_last_cow_size:0\r\n"
    "\r\n"
    "# Stats\r\n"
    "total_connections_received:252\r\n"
    "total_commands_processed:268\r\n"
    "instantaneous_ops_per_sec:19\r\n"
    "total_net_input_bytes:9801\r\n"
    "total_net_output_bytes:9585\r\n"
    "total_net_repl_input_bytes:0\r\n"
    "total_net_repl_output_bytes:8318\r\n"
    "instantaneous_input_kbps:0.75\r\n"
    "instantaneous_output_kbps:0.80\r\n"
    "instantaneous_input_repl_kbps:0.00\r\n"
    "instantaneous_output_repl_kbps:0.71\r\n"
    "rejected_connections:0\r\n"
    "sync_full:1\r\n"
    "sync_partial_ok:0\r\n"
    "sync_partial_err:0\r\n"
    "expired_keys:0\r\n"
    "expired_stale_perc:0.00\r\n"
    "expired_time_cap_reached_count:0\r\n"
    "expire_cycle_cpu_milliseconds:0\r\n"
    "evicted_keys:0\r\n"
    "evicted_clients:0\r\n"
    "total_eviction_exceeded_time:0\r\n"
    "current_eviction_exceeded_time:0\r\n"
    "keyspace_hits:0\r\n"
    "keyspace_misses:0\r\n"
    "pubsub_channels:0\r\n"
    "pubsub_patterns:0\r\n"
    "pubsubshard_channels:0\r\n"
    "latest_fork_usec:1492\r\n"
    "total_forks:1\r\n"
    "migrate_cached_sockets:0\r\n"
    "slave_expires_tracked_keys:0\r\n"
    "active_defrag_hits:0\r\n"
    "active_defrag_misses:0\r\n"
    "active_defrag_key_hits:0\r\n"
    "active_defrag_key_misses:0\r\n"
    "total_active_defrag_time:0\r\n"
    "current_active_defrag_time:0\r\n"
    "tracking_total_keys:0\r\n"
    "tracking_total_items:0\r\n"
    "tracking_total_prefixes:0\r\n"
    "unexpected_error_replies:0\r\n"
    "total_error_replies:0\r\n"
    "dump_payload_sanitizations:0\r\n"
    "total_reads_processed:519\r\n"
    "total_writes_processed:455\r\n"
    "io_threaded_reads_processed:0\r\n"
    "io_threaded_writes_processed:0\r\n"
    "reply_buffer_shrinks:1\r\n"
    "reply_buffer_expands:0\r\n"
    "\r\n"
    "# Replication\r\n"
    "role:master\r\n"
    "connected_slaves:1\r\n"
    "slave0:ip=127.0.0.1,port=22934,state=online,offset=9176,lag=1\r\n"
    "master_failover_state:no-failover\r\n"
    "master_replid:a618be82a98a293a5a092691d42bb72c3e28d56d\r\n"
    "master_replid2:0000000000000000000000000000000000000000\r\n"
    "master_repl_offset:9176\r\n"
    "second_repl_offset:-1\r\n"
    "repl_backlog_active:1\r\n"
    "repl_backlog_size:1048576\r\n"
    "repl_backlog_first_byte_offset:1\r\n"
    "repl_backlog_histlen:9176\r\n"
    "\r\n"
    "# CPU\r\n"
    "used_cpu_sys:0.092858\r\n"
    "used_cpu_user:0.082477\r\n"
    "used_cpu_sys_children:0.000000\r\n"
    "used_cpu_user_children:0.005156\r\n"
    "used_cpu_sys_main_thread:0.091051\r\n"
    "used_cpu_user_main_thread:0.083463\r\n"
    "\r\n"
    "# Modules\r\n"
    "\r\n"
    "# Errorstats\r\n"
    "\r\n"
    "# Cluster\r\n"
    "cluster_enabled:0\r\n"
    "\r\n"
    "# Keyspace\r\n"
    "db0:keys=250,expires=0,avg_ttl=0\r\n";

static const char REPLICA_INFO[] =
    "# Server\r\n"
    "redis_version:7.0.15\r\n"
    "redis_git_sha1:00000000\r\n"
    "redis_git_dirty:0\r\n"
    "redis_build_id:ae4d7c971a948f0\r\n"
    "redis_mode:standalone\r\n"
    "os:Linux 6.18.44-fc-v782 x86_64\r\n"
    "arch_bits:64\r\n"
    "monotonic_clock:POSIX clock_gettime\r\n"
    "multiplexing_api:epoll\r\n"
    "atomicvar_api:c11-builtin\r\n"
    "gcc_version:12.2.0\r\n"
    "process_id:22736\r\n"
    "process_supervised:no\r\n"
    "run_id:4dc8007eebf4adba5a21863fabddb846890e6c9e\r\n"
    "tcp_port:22934\r\n"
    "server_time_usec:1795550616172900\r\n"
    "uptime_in_seconds:20\r\n"
    "uptime_in_days:0\r\n"
    "hz:10\r\n"
    "configured_hz:10\r\n"
    "lru_clock:388504\r\n"
    "executable:/tmp/h9r/redis-server\r\n"
    "config_file:\r\n"
    "io_threads_active:0\r\n"
    "\r\n"
    "# Clients\r\n"
    "connected_clients:2\r\n"
    "cluster_connections:0\r\n"
    "maxclients:10000\r\n"
    "client_recent_max_input_buffer:64\r\n"
    "client_recent_max_output_buffer:0\r\n"
    "blocked_clients:0\r\n"
    "tracking_clients:0\r\n"
    "clients_in_timeout_table:0\r\n"
    "\r\n"
    "# Memory\r\n"
    "used_memory:1058792\r\n"
    "used_memory_human:1.01M\r\n"
    "used_memory_rss:12369920\r\n"
    "used_memory_rss_human:11.80M\r\n"
    "used_memory_peak:1059168\r\n"
    "used_memory_peak_human:1.01M\r\n"
    "used_memory_peak_perc:99.96%\r\n"
    "used_memory_overhead:910900\r\n"
    "used_memory_startup:876272\r\n"
    "used_memory_dataset:147892\r\n"
    "used_memory_dataset_perc:81.03%\r\n"
    "allocator_allocated:1590208\r\n"
    "allocator_active:1822720\r\n"
    "allocator_resident:4685824\r\n"
    "total_system_memory:25276026880\r\n"
    "total_system_memory_human:23.54G\r\n"
    "used_memory_lua:32768\r\n"
    "used_memory_vm_eval:32768\r\n"
    "used_memory_lua_human:32.00K\r\n"
    "used_memory_scripts_eval:0\r\n"
    "number_of_cached_scripts:0\r\n"
    "number_of_functions:0\r\n"
    "number_of_libraries:0\r\n"
    "used_memory_vm_functions:33792\r\n"
    "used_memory_vm_total:66560\r\n"
    "used_memory_vm_total_human:65.00K\r\n"
    "used_memory_functions:200\r\n"
    "used_memory_scripts:200\r\n"
    "used_memory_scripts_human:200B\r\n"
    "maxmemory:0\r\n"
    "maxmemory_human:0B\r\n"
    "maxmemory_policy:noeviction\r\n"
    "allocator_frag_ratio:1.15\r\n"
    "allocator_frag_bytes:232512\r\n"
    "allocator_rss_ratio:2.57\r\n"
    "allocator_rss_bytes:2863104\r\n"
    "rss_overhead_ratio:2.64\r\n"
    "rss_overhead_bytes:7684096\r\n"
    "mem_fragmentation_ratio:12.15\r\n"
    "mem_fragmentation_bytes:11351760\r\n"
    "mem_not_counted_for_evict:0\r\n"
    "mem_replication_backlog:20508\r\n"
    "mem_total_replication_buffers:20504\r\n"
    "mem_clients_slaves:0\r\n"
    "mem_clients_normal:1840\r\n"
    "mem_cluster_links:0\r\n"
    "mem_aof_buffer:0\r\n"
    "mem_allocator:jemalloc-5.3.0\r\n"
    "active_defrag_running:0\r\n"
    "lazyfree_pending_objects:0\r\n"
    "lazyfreed_objects:0\r\n"
    "\r\n"
    "# Persistence\r\n"
    "loading:0\r\n"
    "async_loading:0\r\n"
    "current_cow_peak:0\r\n"
    "current_cow_size:0\r\n"
    "current_cow_size_age:0\r\n"
    "current_fork_perc:0.00\r\n"
    "current_save_keys_processed:0\r\n"
    "current_save_keys_total:0\r\n"
    "rdb_changes_since_last_save:200\r\n"
    "rdb_bgsave_in_progress:0\r\n"
    "rdb_last_save_time:1795550596\r\n"
    "rdb_last_bgsave_status:ok\r\n"
    "rdb_last_bgsave_time_sec:-1\r\n"
    "rdb_current_bgsave_time_sec:-1\r\n"
    "rdb_saves:0\r\n"
    "rdb_last_cow_size:0\r\n"
    "rdb_last_load_keys_expired:0\r\n"
    "rdb_last_load_keys_loaded:50\r\n"
    "aof_enabled:0\r\n"
    "aof_rewrite_in_progress:0\r\n"
    "aof_rewrite_scheduled:0\r\n"
    "aof_last_rewrite_time_sec:-1\r\n"
    "aof_current_rewrite_time_sec:-1\r\n"
    "aof_last_bgrewrite_status:ok\r\n"
    "aof_rewrites:0\r\n"
    "aof_rewrites_consecutive_failures:0\r\n"
    "aof_last_write_status:ok\r\n"
    "aof_last_cow_size:0\r\n"
    "module_fork_in_progress:0\r\n"
    "module_fork_last_cow_size:0\r\n"
    "\r\n"
    "# Stats\r\n"
    "total_connections_received:3\r\n"
    "total_commands_processed:204\r\n"
    "instantaneous_ops_per_sec:17\r\n"
    "total_net_input_bytes:8396\r\n"
    "total_net_output_bytes:1738\r\n"
    "total_net_repl_input_bytes:8318\r\n"
    "total_net_repl_output_bytes:0\r\n"
    "instantaneous_input_kbps:0.68\r\n"
    "instantaneous_output_kbps:0.04\r\n"
    "instantaneous_input_repl_kbps:0.68\r\n"
    "instantaneous_output_repl_kbps:0.00\r\n"
    "rejected_connections:0\r\n"
    "sync_full:0\r\n"
    "sync_partial_ok:0\r\n"
    "sync_partial_err:0\r\n"
    "expired_keys:0\r\n"
    "expired_stale_perc:0.00\r\n"
    "expired_time_cap_reached_count:0\r\n"
    "expire_cycle_cpu_milliseconds:0\r\n"
    "evicted_keys:0\r\n"
    "evicted_clients:0\r\n"
    "total_eviction_exceeded_time:0\r\n"
    "current_eviction_exceeded_time:0\r\n"
    "keyspace_hits:0\r\n"
    "keyspace_misses:0\r\n"
    "pubsub_channels:0\r\n"
    "pubsub_patterns:0\r\n"
    "pubsubshard_channels:0\r\n"
    "latest_fork_usec:0\r\n"
    "total_forks:0\r\n"
    "migrate_cached_sockets:0\r\n"
    "slave_expires_tracked_keys:0\r\n"
    "active_defrag_hits:0\r\n"
    "active_defrag_misses:0\r\n"
    "active_defrag_key_hits:0\r\n"
    "active_defrag_key_misses:0\r\n"
    "total_active_defrag_time:0\r\n"
    "current_active_defrag_time:0\r\n"
    "tracking_total_keys:0\r\n"
    "tracking_total_items:0\r\n"
    "tracking_total_prefixes:0\r\n"
    "unexpected_error_replies:0\r\n"
    "total_error_replies:0\r\n"
    "dump_payload_sanitizations:0\r\n"
    "total_reads_processed:206\r\n"
    "total_writes_processed:16\r\n"
    "io_threaded_reads_processed:0\r\n"
    "io_threaded_writes_processed:0\r\n"
    "reply_buffer_shrinks:1\r\n"
    "reply_buffer_expands:0\r\n"
    "\r\n"
    "# Replication\r\n"
    "role:slave\r\n"
    "master_host:127.0.0.1\r\n"
    "master_port:22933\r\n"
    "master_link_status:up\r\n"
    "master_last_io_seconds_ago:1\r\n"
    "master_sync_in_progress:0\r\n"
    "slave_read_repl_offset:9176\r\n"
    "slave_repl_offset:9176\r\n"
    "slave_priority:100\r\n"
    "slave_read_only:1\r\n"
    "replica_announced:1\r\n"
    "connected_slaves:0\r\n"
    "master_failover_state:no-failover\r\n"
    "master_replid:a618be82a98a293a5a092691d42bb72c3e28d56d\r\n"
    "master_replid2:0000000000000000000000000000000000000000\r\n"
    "master_repl_offset:9176\r\n"
    "second_repl_offset:-1\r\n"
    "repl_backlog_active:1\r\n"
    "repl_backlog_size:1048576\r\n"
    "repl_backlog_first_byte_offset:1556\r\n"
    "repl_backlog_histlen:7621\r\n"
    "\r\n"
    "# CPU\r\n"
    "used_cpu_sys:0.070576\r\n"
    "used_cpu_user:0.041517\r\n"
    "used_cpu_sys_children:0.000000\r\n"
    "used_cpu_user_children:0.000000\r\n"
    "used_cpu_sys_main_thread:0.069228\r\n"
    "used_cpu_user_main_thread:0.042306\r\n"
    "\r\n"
    "# Modules\r\n"
    "\r\n"
    "# Errorstats\r\n"
    "\r\n"
    "# Cluster\r\n"
    "cluster_enabled:0\r\n"
    "\r\n"
    "# Keyspace\r\n"
    "db0:keys=250,expires=0,avg_ttl=0\r\n";

static const char REPLICA_MASTER_DOWN_INFO[] =
    "# Server\r\n"
    "redis_version:7.0.15\r\n"
    "redis_git_sha1:00000000\r\n"
    "redis_git_dirty:0\r\n"
    "redis_build_id:ae4d7c971a948f0\r\n"
    "redis_mode:standalone\r\n"
    "os:Linux 6.18.44-fc-v782 x86_64\r\n"
    "arch_bits:64\r\n"
    "monotonic_clock:POSIX clock_gettime\r\n"
    "multiplexing_api:epoll\r\n"
    "atomicvar_api:c11-builtin\r\n"
    "gcc_version:12.2.0\r\n"
    "process_id:22736\r\n"
    "process_supervised:no\r\n"
    "run_id:4dc8007eebf4adba5a21863fabddb846890e6c9e\r\n"
    "tcp_port:22934\r\n"
    "server_time_usec:1795550620982144\r\n"
    "uptime_in_seconds:24\r\n"
    "uptime_in_days:0\r\n"
    "hz:10\r\n"
    "configured_hz:10\r\n"
    "lru_clock:388508\r\n"
    "executable:/tmp/h9r/redis-server\r\n"
    "config_file:\r\n"
    "io_threads_active:0\r\n"
    "\r\n"
    "# Replication\r\n"
    "role:slave\r\n"
    "master_host:127.0.0.1\r\n"
    "master_port:22933\r\n"
    "master_link_status:down\r\n"
    "master_last_io_seconds_ago:-1\r\n"
    "master_sync_in_progress:0\r\n"
    "slave_read_repl_offset:9190\r\n"
    "slave_repl_offset:9190\r\n"
    "master_link_down_since_seconds:2\r\n"
    "slave_priority:100\r\n"
    "slave_read_only:1\r\n"
    "replica_announced:1\r\n"
    "connected_slaves:0\r\n"
    "master_failover_state:no-failover\r\n"
    "master_replid:a618be82a98a293a5a092691d42bb72c3e28d56d\r\n"
    "master_replid2:0000000000000000000000000000000000000000\r\n"
    "master_repl_offset:9190\r\n"
    "second_repl_offset:-1\r\n"
    "repl_backlog_active:1\r\n"
    "repl_backlog_size:1048576\r\n"
    "repl_backlog_first_byte_offset:1556\r\n"
    "repl_backlog_histlen:7635\r\n"
    "\r\n";

static const char FENCED_REPLICA_INFO[] =
    "# Server\r\n"
    "redis_version:7.0.15\r\n"
    "redis_git_sha1:00000000\r\n"
    "redis_git_dirty:0\r\n"
    "redis_build_id:ae4d7c971a948f0\r\n"
    "redis_mode:standalone\r\n"
    "os:Linux 6.18.44-fc-v782 x86_64\r\n"
    "arch_bits:64\r\n"
    "monotonic_clock:POSIX clock_gettime\r\n"
    "multiplexing_api:epoll\r\n"
    "atomicvar_api:c11-builtin\r\n"
    "gcc_version:12.2.0\r\n"
    "process_id:22739\r\n"
    "process_supervised:no\r\n"
    "run_id:f4b5ba2cc64e8f1942765cab8a495403ab4e219b\r\n"
    "tcp_port:22935\r\n"
    "server_time_usec:1795550616242318\r\n"
    "uptime_in_seconds:20\r\n"
    "uptime_in_days:0\r\n"
    "hz:10\r\n"
    "configured_hz:10\r\n"
    "lru_clock:388504\r\n"
    "executable:/tmp/h9r/redis-server\r\n"
    "config_file:\r\n"
    "io_threads_active:0\r\n"
    "\r\n"
    "# Replication\r\n"
    "role:slave\r\n"
    "master_host:192.0.2.1\r\n"
    "master_port:6379\r\n"
    "master_link_status:down\r\n"
    "master_last_io_seconds_ago:-1\r\n"
    "master_sync_in_progress:0\r\n"
    "slave_read_repl_offset:1\r\n"
    "slave_repl_offset:1\r\n"
    "master_link_down_since_seconds:-1\r\n"
    "slave_priority:100\r\n"
    "slave_read_only:1\r\n"
    "replica_announced:1\r\n"
    "connected_slaves:0\r\n"
    "master_failover_state:no-failover\r\n"
    "master_replid:84a5dba67335edc29e08bff38d380633df0886cf\r\n"
    "master_replid2:0000000000000000000000000000000000000000\r\n"
    "master_repl_offset:0\r\n"
    "second_repl_offset:-1\r\n"
    "repl_backlog_active:0\r\n"
    "repl_backlog_size:1048576\r\n"
    "repl_backlog_first_byte_offset:0\r\n"
    "repl_backlog_histlen:0\r\n"
    "\r\n";

#define PRIMARY_RUN_ID "f6b6dace0efc50d23ec184471ad7cf1fc4b70359"
#define REPLICA_RUN_ID "4dc8007eebf4adba5a21863fabddb846890e6c9e"
#define FENCED_RUN_ID "f4b5ba2cc64e8f1942765cab8a495403ab4e219b"
#define REPLID "a618be82a98a293a5a092691d42bb72c3e28d56d"
#define FENCED_REPLID "84a5dba67335edc29e08bff38d380633df0886cf"
#define PRIMARY_PORT 22933

/* ---- helpers ---------------------------------------------------------------------------- */

/* Parses the first len bytes of text from a heap copy of exactly len bytes (no NUL after it),
 * so AddressSanitizer sees any read past the end. out is pre-filled with garbage. */
static int parse_n(const char *text, size_t len, struct valkey_info *out)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, text, len);
    memset(out, 0x5a, sizeof(*out));
    int rc = valkey_info_parse(copy, len, out);
    free(copy);
    return rc;
}

static int parse(const char *text, struct valkey_info *out)
{
    return parse_n(text, strlen(text), out);
}

/* Parses text, expecting success. */
static void parse_ok(const char *text, struct valkey_info *out)
{
    int rc = parse(text, out);
    if (rc != 0)
        print_error("unexpected failure for:\n%s\n", text);
    assert_int_equal(rc, 0);
}

static void parse_fails(const char *text)
{
    struct valkey_info out;
    int rc = parse(text, &out);
    if (rc != -1)
        print_error("unexpected success for:\n%s\n", text);
    assert_int_equal(rc, -1);
}

/* text with every "\r\n" replaced by "\n" (new string). */
static char *to_lf(const char *text)
{
    char *out = malloc(strlen(text) + 1);
    assert_non_null(out);
    char *w = out;
    for (const char *r = text; *r; r++)
        if (!(r[0] == '\r' && r[1] == '\n'))
            *w++ = *r;
    *w = '\0';
    return out;
}

static void assert_same_info(const struct valkey_info *a, const struct valkey_info *b)
{
    assert_int_equal(a->is_primary, b->is_primary);
    assert_string_equal(a->master_host, b->master_host);
    assert_int_equal(a->master_port, b->master_port);
    assert_int_equal(a->master_link_up, b->master_link_up);
    assert_int_equal(a->repl_offset, b->repl_offset);
    assert_string_equal(a->replid, b->replid);
    assert_string_equal(a->run_id, b->run_id);
    assert_int_equal(a->connected_replicas, b->connected_replicas);
}

/* ---- real outputs ----------------------------------------------------------------------- */

static void test_real_primary(void **state)
{
    (void)state;
    struct valkey_info i;
    parse_ok(PRIMARY_INFO, &i);
    assert_true(i.is_primary);
    assert_int_equal(i.repl_offset, 9176); /* master_repl_offset */
    assert_int_equal(i.connected_replicas, 1);
    assert_string_equal(i.replid, REPLID);
    assert_string_equal(i.run_id, PRIMARY_RUN_ID);
    assert_string_equal(i.master_host, ""); /* a primary has no master */
    assert_int_equal(i.master_port, 0);
    assert_false(i.master_link_up);
}

static void test_real_replica(void **state)
{
    (void)state;
    struct valkey_info i;
    parse_ok(REPLICA_INFO, &i);
    assert_false(i.is_primary);
    assert_string_equal(i.master_host, "127.0.0.1");
    assert_int_equal(i.master_port, PRIMARY_PORT);
    assert_true(i.master_link_up);
    assert_int_equal(i.repl_offset, 9176); /* slave_repl_offset */
    assert_string_equal(i.replid, REPLID); /* the primary's replication id */
    assert_string_equal(i.run_id, REPLICA_RUN_ID);
    assert_int_equal(i.connected_replicas, 0);
}

static void test_real_replica_master_down(void **state)
{
    (void)state;
    struct valkey_info i;
    parse_ok(REPLICA_MASTER_DOWN_INFO, &i);
    assert_false(i.is_primary);
    assert_string_equal(i.master_host, "127.0.0.1");
    assert_int_equal(i.master_port, PRIMARY_PORT);
    assert_false(i.master_link_up); /* master_link_status:down */
    assert_int_equal(i.repl_offset, 9190);
    assert_string_equal(i.replid, REPLID);
    assert_string_equal(i.run_id, REPLICA_RUN_ID);
}

/* A pod as the operator boots it: a replica of the unreachable fence address. */
static void test_real_fenced_replica(void **state)
{
    (void)state;
    struct valkey_info i;
    parse_ok(FENCED_REPLICA_INFO, &i);
    assert_false(i.is_primary);
    assert_string_equal(i.master_host, "192.0.2.1");
    assert_int_equal(i.master_port, 6379);
    assert_false(i.master_link_up);
    assert_int_equal(i.repl_offset, 1); /* slave_repl_offset, not master_repl_offset:0 */
    assert_string_equal(i.replid, FENCED_REPLID);
    assert_string_equal(i.run_id, FENCED_RUN_ID);
    assert_int_equal(i.connected_replicas, 0);
}

/* The same replies with bare LF line ends parse to the same result. */
static void test_lf_equals_crlf(void **state)
{
    (void)state;
    const char *texts[] = {PRIMARY_INFO, REPLICA_INFO, REPLICA_MASTER_DOWN_INFO, FENCED_REPLICA_INFO};
    for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
        struct valkey_info crlf, lf;
        char *text = to_lf(texts[t]);
        assert_null(strchr(text, '\r'));
        int rc_lf = parse(text, &lf);
        free(text);
        parse_ok(texts[t], &crlf);
        assert_int_equal(rc_lf, 0);
        assert_same_info(&crlf, &lf);
    }
}

/* INFO replication alone (no server section): run_id is "". */
static void test_replication_section_only(void **state)
{
    (void)state;
    struct valkey_info i;
    parse_ok("# Replication\r\nrole:slave\r\nmaster_host:10.0.0.7\r\nmaster_port:6379\r\n"
             "master_link_status:up\r\nslave_repl_offset:42\r\nmaster_replid:" REPLID "\r\n"
             "master_repl_offset:42\r\n",
             &i);
    assert_false(i.is_primary);
    assert_string_equal(i.master_host, "10.0.0.7");
    assert_int_equal(i.master_port, 6379);
    assert_true(i.master_link_up);
    assert_int_equal(i.repl_offset, 42);
    assert_string_equal(i.run_id, "");
    assert_int_equal(i.connected_replicas, 0);
}

/* ---- the role line ---------------------------------------------------------------------- */

static void test_role(void **state)
{
    (void)state;
    struct valkey_info i;
    parse_ok("role:master", &i); /* no line end at all */
    assert_true(i.is_primary);
    assert_int_equal(i.repl_offset, -1); /* no offset line */
    assert_string_equal(i.run_id, "");
    assert_string_equal(i.replid, "");
    assert_string_equal(i.master_host, "");
    parse_ok("role:slave\r\n", &i);
    assert_false(i.is_primary);
    assert_int_equal(i.repl_offset, -1);
    parse_ok("role:slave\n", &i);
    assert_false(i.is_primary);
    /* the last role line wins */
    parse_ok("role:slave\nrole:master\n", &i);
    assert_true(i.is_primary);
}

static void test_missing_or_bad_role(void **state)
{
    (void)state;
    parse_fails("");
    parse_fails("\r\n\r\n");
    parse_fails("# Replication\r\nconnected_slaves:0\r\nmaster_repl_offset:5\r\n");
    parse_fails("# Replication\r\nrole:sentinel\r\n");
    parse_fails("role:\r\n");
    parse_fails("role: master\r\n");
    parse_fails("role:masterx\r\n");
    parse_fails("role:MASTER\r\n");
    parse_fails("role:mas"); /* truncated */
    parse_fails("roles:master\r\n"); /* not the role key */
    parse_fails("# role:master\r\n"); /* a comment */
    parse_fails("role master\r\n");   /* no colon */
    /* an empty buffer that is not even a valid pointer's worth of text */
    struct valkey_info i;
    assert_int_equal(parse_n("x", 0, &i), -1);
}

/* ---- numbers ---------------------------------------------------------------------------- */

static void test_offsets(void **state)
{
    (void)state;
    struct valkey_info i;
    /* a replica without slave_repl_offset falls back to master_repl_offset */
    parse_ok("role:slave\nmaster_repl_offset:77\n", &i);
    assert_int_equal(i.repl_offset, 77);
    /* a primary reports master_repl_offset even when a slave_repl_offset line is there */
    parse_ok("role:master\nslave_repl_offset:5\nmaster_repl_offset:77\n", &i);
    assert_int_equal(i.repl_offset, 77);
    /* order of lines does not matter */
    parse_ok("slave_repl_offset:5\nmaster_repl_offset:77\nrole:slave\n", &i);
    assert_int_equal(i.repl_offset, 5);
    parse_ok("role:master\nmaster_repl_offset:0\n", &i);
    assert_int_equal(i.repl_offset, 0);
    parse_ok("role:master\nmaster_repl_offset:9223372036854775807\n", &i);
    assert_int_equal(i.repl_offset, 9223372036854775807LL);
    parse_ok("role:master\nconnected_slaves:2147483647\n", &i);
    assert_int_equal(i.connected_replicas, 2147483647);
    parse_ok("role:slave\nmaster_port:65535\n", &i);
    assert_int_equal(i.master_port, 65535);
    parse_ok("role:slave\nmaster_port:0\n", &i);
    assert_int_equal(i.master_port, 0);
}

static void test_malformed_numbers(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "role:slave\nmaster_port:\n",
        "role:slave\nmaster_port:abc\n",
        "role:slave\nmaster_port:63 79\n",
        "role:slave\nmaster_port:6379x\n",
        "role:slave\nmaster_port:65536\n",
        "role:slave\nmaster_port:-1\n",
        "role:slave\nmaster_port:99999999999999999999999\n",
        "role:master\nmaster_repl_offset:-5\n",
        "role:master\nmaster_repl_offset:9223372036854775808\n",
        "role:master\nmaster_repl_offset:1.5\n",
        "role:master\nmaster_repl_offset:0x10\n",
        "role:master\nmaster_repl_offset:\r\n",
        "role:slave\nslave_repl_offset:-1\n",
        "role:slave\nslave_repl_offset:12abc\n",
        "role:master\nconnected_slaves:2147483648\n",
        "role:master\nconnected_slaves:-1\n",
        "role:master\nconnected_slaves:one\n",
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
        parse_fails(bad[k]);
}

/* ---- strings ---------------------------------------------------------------------------- */

static void test_host_length(void **state)
{
    (void)state;
    char text[1024];
    char host[VALKEY_INFO_HOST_MAX + 2];
    struct valkey_info i;

    /* the longest host that fits: VALKEY_INFO_HOST_MAX - 1 characters */
    memset(host, 'h', VALKEY_INFO_HOST_MAX - 1);
    host[VALKEY_INFO_HOST_MAX - 1] = '\0';
    snprintf(text, sizeof(text), "role:slave\r\nmaster_host:%s\r\nmaster_port:6379\r\n", host);
    parse_ok(text, &i);
    assert_string_equal(i.master_host, host);
    assert_int_equal(i.master_port, 6379);

    /* one more is refused, not cut */
    memset(host, 'h', VALKEY_INFO_HOST_MAX);
    host[VALKEY_INFO_HOST_MAX] = '\0';
    snprintf(text, sizeof(text), "role:slave\r\nmaster_host:%s\r\nmaster_port:6379\r\n", host);
    parse_fails(text);

    /* a host of hundreds of bytes at the very end of the input, without a line end */
    char big[700];
    int n = snprintf(big, sizeof(big), "role:slave\nmaster_host:");
    memset(big + n, 'x', sizeof(big) - (size_t)n - 1);
    big[sizeof(big) - 1] = '\0';
    parse_fails(big);

    /* the CR of CRLF is not part of the host */
    parse_ok("role:slave\r\nmaster_host:valkey-0.valkey-headless.ns.svc\r\n", &i);
    assert_string_equal(i.master_host, "valkey-0.valkey-headless.ns.svc");
}

static void test_id_lengths(void **state)
{
    (void)state;
    struct valkey_info i;
    parse_ok("role:master\r\nrun_id:" PRIMARY_RUN_ID "\r\nmaster_replid:" REPLID "\r\n", &i);
    assert_string_equal(i.run_id, PRIMARY_RUN_ID);
    assert_string_equal(i.replid, REPLID);
    assert_int_equal(strlen(i.run_id), VALKEY_INFO_ID_MAX - 1);
    parse_fails("role:master\r\nrun_id:" PRIMARY_RUN_ID "0\r\n");
    parse_fails("role:master\r\nmaster_replid:" REPLID "0\r\n");
    parse_ok("role:master\r\nrun_id:\r\n", &i);
    assert_string_equal(i.run_id, "");
}

static void test_link_status(void **state)
{
    (void)state;
    struct valkey_info i;
    parse_ok("role:slave\r\nmaster_link_status:up\r\n", &i);
    assert_true(i.master_link_up);
    parse_ok("role:slave\r\nmaster_link_status:down\r\n", &i);
    assert_false(i.master_link_up);
    parse_ok("role:slave\r\nmaster_link_status:upx\r\n", &i);
    assert_false(i.master_link_up);
    parse_ok("role:slave\r\nmaster_link_status:\r\n", &i);
    assert_false(i.master_link_up);
    parse_ok("role:slave\r\n", &i);
    assert_false(i.master_link_up); /* no line: not up */
}

/* ---- unknown and odd lines -------------------------------------------------------------- */

static void test_unknown_keys_ignored(void **state)
{
    (void)state;
    struct valkey_info i;
    parse_ok("# Server\r\nvalkey_version:8.1.0\r\nserver_mode:standalone\r\n\r\n"
             "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n"
             "slave0:ip=10.0.0.2,port=6379,state=online,offset=100,lag=0\r\n"
             "slave1:ip=10.0.0.3,port=6379,state=online,offset=99,lag=1\r\n"
             "master_port_extra:not-a-number\r\n"   /* a longer key that starts like a known one */
             "master_hostname:x\r\n"
             "a line without a colon\r\n"
             ":value without a key\r\n"
             "future_field:\xff\xfe binary \x01\r\n"
             "master_repl_offset:100\r\n",
             &i);
    assert_true(i.is_primary);
    assert_int_equal(i.connected_replicas, 2);
    assert_int_equal(i.repl_offset, 100);
    assert_string_equal(i.master_host, "");
    assert_int_equal(i.master_port, 0);
}

/* Every prefix of a real reply parses or is refused, and never reads past its end. */
static void test_truncated_input(void **state)
{
    (void)state;
    const char *texts[] = {PRIMARY_INFO, REPLICA_INFO};
    for (size_t t = 0; t < 2; t++) {
        size_t len = strlen(texts[t]);
        const char *role = strstr(texts[t], "role:");
        assert_non_null(role);
        size_t role_end = (size_t)(strchr(role, '\r') - texts[t]);
        for (size_t n = 0; n <= len; n++) {
            struct valkey_info i;
            int rc = parse_n(texts[t], n, &i);
            if (n < role_end) /* the role value is not complete ("role:maste") */
                assert_int_equal(rc, -1);
            if (rc == 0) {
                assert_true(strlen(i.master_host) < sizeof(i.master_host));
                assert_true(i.repl_offset >= -1);
            }
        }
        /* cut in the middle of a line: the partial value is what was received */
        const char *off = strstr(texts[t], t == 0 ? "master_repl_offset:9176" : "slave_repl_offset:9176");
        assert_non_null(off);
        size_t cut = (size_t)(off - texts[t]) + strlen(t == 0 ? "master_repl_offset:91" : "slave_repl_offset:91");
        struct valkey_info i;
        assert_int_equal(parse_n(texts[t], cut, &i), 0);
        assert_int_equal(i.repl_offset, 91);
    }
}

/* NUL bytes inside the input are data, not the end of it. */
static void test_embedded_nul(void **state)
{
    (void)state;
    static const char text[] = "foo:\0bar\nrole:master\nmaster_repl_offset:12\n";
    struct valkey_info i;
    assert_int_equal(parse_n(text, sizeof(text) - 1, &i), 0);
    assert_true(i.is_primary);
    assert_int_equal(i.repl_offset, 12);
    static const char bad_number[] = "role:master\nmaster_repl_offset:12\0" "3\n";
    assert_int_equal(parse_n(bad_number, sizeof(bad_number) - 1, &i), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_primary),
        cmocka_unit_test(test_real_replica),
        cmocka_unit_test(test_real_replica_master_down),
        cmocka_unit_test(test_real_fenced_replica),
        cmocka_unit_test(test_lf_equals_crlf),
        cmocka_unit_test(test_replication_section_only),
        cmocka_unit_test(test_role),
        cmocka_unit_test(test_missing_or_bad_role),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_malformed_numbers),
        cmocka_unit_test(test_host_length),
        cmocka_unit_test(test_id_lengths),
        cmocka_unit_test(test_link_status),
        cmocka_unit_test(test_unknown_keys_ignored),
        cmocka_unit_test(test_truncated_input),
        cmocka_unit_test(test_embedded_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
