//! A real LDK flow over TierStore: two nodes from lightning's test utilities open a channel,
//! pay each other and force-close, with their ChannelMonitors persisted through a TierStore
//! each (memory primary, backup and ephemeral). After every step the monitors read back with
//! `read_channel_monitors` at the latest update, and the backup holds exactly the primary's
//! durable data.

use std::collections::BTreeMap;

use lightning::events::ClosureReason;
use lightning::ln::functional_test_utils::*;
use lightning::util::persist::read_channel_monitors;
use lightning::util::test_utils::TestChainMonitor;
use tierstore_core::{Backend, MemoryBackend, TierStore};

fn tier_store() -> TierStore {
    TierStore::builder(MemoryBackend::named("primary"))
        .backup(MemoryBackend::named("backup"))
        .ephemeral(MemoryBackend::named("ephemeral"))
        .build()
        .expect("valid configuration")
}

/// Every key and value of a backend.
fn contents(backend: &dyn Backend) -> BTreeMap<String, Vec<u8>> {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    rt.block_on(async {
        let mut all = BTreeMap::new();
        for key in backend.list_all_keys().await.expect("lists") {
            let value = backend.read(&key).await.expect("reads");
            all.insert(key.to_string(), value);
        }
        all
    })
}

fn assert_backup_matches(store: &TierStore) {
    let primary = contents(store.primary().as_ref());
    let backup = contents(store.backup().expect("has a backup").as_ref());
    assert!(!primary.is_empty(), "monitors were persisted");
    assert_eq!(primary, backup, "the backup holds the primary's durable data");
    assert!(store.divergences().is_empty(), "{:?}", store.divergences());
}

#[test]
fn channel_open_pay_and_force_close_persist_through_tierstore() {
    let stores = [tier_store(), tier_store()];
    let chanmon_cfgs = create_chanmon_cfgs(2);
    let mut node_cfgs = create_node_cfgs(2, &chanmon_cfgs);
    for (i, cfg) in node_cfgs.iter_mut().enumerate() {
        cfg.chain_monitor = TestChainMonitor::new(
            Some(&chanmon_cfgs[i].chain_source),
            &chanmon_cfgs[i].tx_broadcaster,
            &chanmon_cfgs[i].logger,
            &chanmon_cfgs[i].fee_estimator,
            &stores[i],
            cfg.keys_manager,
        );
    }
    // Channels without anchors: a force-close broadcasts the commitment transaction at once.
    let legacy = test_legacy_channel_config();
    let node_chanmgrs = create_node_chanmgrs(2, &node_cfgs, &[Some(legacy.clone()), Some(legacy)]);
    let nodes = create_network(2, &node_cfgs, &node_chanmgrs);
    let node_a_id = nodes[0].node.get_our_node_id();
    let node_b_id = nodes[1].node.get_our_node_id();

    let check_persisted = |expected_update_id: u64| {
        for (node, store) in nodes.iter().zip(&stores) {
            let monitors = read_channel_monitors(store, node.keys_manager, node.keys_manager)
                .expect("monitors read back");
            assert_eq!(monitors.len(), 1);
            assert_eq!(monitors[0].1.get_latest_update_id(), expected_update_id);
            assert_backup_matches(store);
        }
    };

    for (node, store) in nodes.iter().zip(&stores) {
        let monitors = read_channel_monitors(store, node.keys_manager, node.keys_manager).unwrap();
        assert!(monitors.is_empty());
    }
    create_announced_chan_between_nodes(&nodes, 0, 1);
    check_persisted(0);

    send_payment(&nodes[0], &[&nodes[1]], 8_000_000);
    let after_first =
        read_channel_monitors(&stores[0], nodes[0].keys_manager, nodes[0].keys_manager).unwrap()[0]
            .1
            .get_latest_update_id();
    assert!(after_first > 0, "a payment updates the monitor");
    check_persisted(after_first);
    send_payment(&nodes[1], &[&nodes[0]], 4_000_000);
    let after_second = 2 * after_first;
    check_persisted(after_second);

    let message = "force-closed by the test".to_owned();
    let channel_id = nodes[0].node.list_channels()[0].channel_id;
    nodes[0]
        .node
        .force_close_broadcasting_latest_txn(&channel_id, &node_b_id, message.clone())
        .expect("force-closes");
    let reason = ClosureReason::HolderForceClosed { broadcasted_latest_txn: Some(true), message };
    check_closed_event(&nodes[0], 1, reason, &[node_b_id], 100_000);
    check_closed_broadcast(&nodes[0], 1, true);
    check_added_monitors(&nodes[0], 1);

    let commitment = nodes[0].tx_broadcaster.txn_broadcasted.lock().unwrap()[0].clone();
    let block =
        create_dummy_block(nodes[0].best_block_hash(), 42, vec![commitment.clone(), commitment]);
    connect_block(&nodes[1], &block);
    check_closed_broadcast(&nodes[1], 1, true);
    check_closed_event(&nodes[1], 1, ClosureReason::CommitmentTxConfirmed, &[node_a_id], 100_000);
    check_added_monitors(&nodes[1], 1);
    check_persisted(after_second + 1);
}
