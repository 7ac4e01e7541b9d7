//! A real LDK node restored from its backup (issue 11).
//!
//! Two nodes from lightning's test utilities open a channel and pay each other both ways.
//! Node A persists its ChannelMonitors and its ChannelManager through a journaled TierStore
//! whose primary and backup are two lightning-persister `FilesystemStoreV2` directories (real
//! files, through the LDK adapter). Then A's primary disk is lost: the primary directory and
//! the journal beside it are deleted. A fresh, empty primary is filled from the backup with
//! the library's [`repair::restore`], a new TierStore is opened on it and the backup, A's
//! ChannelManager and ChannelMonitors are reloaded from that store alone, the peers
//! reconnect, and payments flow again in both directions, persisted through the restored
//! store.
//!
//! The checks that make this a test of the backup, not of LDK: before the loss, `verify`
//! finds primary and backup equal; after the restore, the new primary holds exactly what
//! the lost one held (compared against a copy taken before the loss) and equals the backup;
//! channel balances are those from before the loss, and move by exactly the new payments.
//! A backup snapshot that misses A's latest monitor update is caught: `repair::verify`
//! names the monitor as different, and LDK refuses (`DecodeError::DangerousValue`) to load
//! the ChannelManager against the stale monitor. Restoring from that snapshot instead fails
//! this test.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use lightning::chain::BlockLocator;
use lightning::chain::channelmonitor::ChannelMonitor;
use lightning::events::Event;
use lightning::ln::channel_state::ChannelDetails;
use lightning::ln::channelmanager::ChannelManagerReadArgs;
use lightning::ln::functional_test_utils::*;
use lightning::ln::msgs::BaseMessageHandler;
use lightning::ln::msgs::DecodeError;
use lightning::util::persist::{
    CHANNEL_MANAGER_PERSISTENCE_KEY, CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
    CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE, CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
    CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE, KVStoreSync, read_channel_monitors,
};
use lightning::util::ser::{ReadableArgs, Writeable};
use lightning::util::test_channel_signer::TestChannelSigner;
use lightning::util::test_utils::TestChainMonitor;
use lightning_persister::fs_store::v2::FilesystemStoreV2;
use tierstore_core::repair::{self, Scan};
use tierstore_core::{Backend, Key, LdkBackend, MemoryBackend, TierStore};

/// A lightning-persister filesystem store in `dir`, as a TierStore backend.
fn filesystem(dir: &Path, name: &str) -> Arc<dyn Backend> {
    let store = FilesystemStoreV2::new(dir.to_path_buf()).expect("opens the directory");
    Arc::new(LdkBackend::new(store).named(name).with_list_all_keys())
}

/// Node A's store: filesystem primary and backup, journal beside the primary.
async fn open_node_a_store(
    primary: Arc<dyn Backend>,
    backup: Arc<dyn Backend>,
    journal: &Path,
) -> TierStore {
    TierStore::builder(primary).backup(backup).journal(journal).open().await.expect("opens")
}

/// Every key and value of a backend outside TierStore's reserved namespace.
async fn contents(backend: &dyn Backend) -> BTreeMap<String, Vec<u8>> {
    let mut all = BTreeMap::new();
    for key in backend.list_all_keys().await.expect("lists") {
        if !key.is_reserved() {
            let value = backend.read(&key).await.expect("reads");
            all.insert(key.to_string(), value);
        }
    }
    all
}

/// Two stores' contents are equal (a failure names the keys, not megabytes of values).
fn assert_same(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>, what: &str) {
    let differing: Vec<&String> =
        a.keys().chain(b.keys()).filter(|key| a.get(*key) != b.get(*key)).collect();
    assert!(differing.is_empty(), "{what}: keys differ: {differing:?}");
}

/// A node's only channel.
fn the_channel(node: &Node<'_, '_, '_>) -> ChannelDetails {
    let mut channels = node.node.list_channels();
    assert_eq!(channels.len(), 1, "one channel");
    channels.remove(0)
}

/// (outbound, inbound) capacity in msat of a node's only channel, which must be usable.
fn capacities(node: &Node<'_, '_, '_>) -> (u64, u64) {
    let channel = the_channel(node);
    assert!(channel.is_usable, "the channel is usable: {channel:?}");
    (channel.outbound_capacity_msat, channel.inbound_capacity_msat)
}

/// Reads a ChannelManager against `monitors`, as a restarting node does, and drops it.
fn load_manager(
    node: &Node<'_, '_, '_>,
    manager: &[u8],
    monitors: Vec<&ChannelMonitor<TestChannelSigner>>,
) -> Result<(), DecodeError> {
    let args = ChannelManagerReadArgs::new(
        node.keys_manager,
        node.keys_manager,
        node.keys_manager,
        node.fee_estimator,
        node.chain_monitor,
        node.tx_broadcaster,
        node.router,
        node.message_router,
        node.logger,
        node.node.get_current_config(),
        monitors,
    );
    <(BlockLocator, TestChannelManager<'_, '_>)>::read(&mut &manager[..], args).map(|_| ())
}

/// The latest update id of the (single) monitor `store` holds.
fn persisted_update_id(store: &TierStore, node: &Node<'_, '_, '_>) -> u64 {
    let monitors = read_channel_monitors(store, node.keys_manager, node.keys_manager)
        .expect("monitors read back");
    assert_eq!(monitors.len(), 1, "one channel monitor");
    monitors[0].1.get_latest_update_id()
}

#[test]
fn node_restored_from_backup_reloads_its_channel_and_pays_both_ways() {
    // Keeps the journaled stores' background tasks running for the whole test; LDK's sync
    // calls run from this plain test thread.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temporary directory");
    let (primary_dir, backup_dir) = (dir.path().join("a-primary"), dir.path().join("a-backup"));
    let journal = dir.path().join("a-primary.journal");
    let store_a = rt.block_on(open_node_a_store(
        filesystem(&primary_dir, "a-primary"),
        filesystem(&backup_dir, "a-backup"),
        &journal,
    ));
    let store_b = TierStore::builder(MemoryBackend::named("b-primary"))
        .backup(MemoryBackend::named("b-backup"))
        .build()
        .expect("valid configuration");

    let chanmon_cfgs = create_chanmon_cfgs(2);
    let mut node_cfgs = create_node_cfgs(2, &chanmon_cfgs);
    for (i, (cfg, store)) in node_cfgs.iter_mut().zip([&store_a, &store_b]).enumerate() {
        cfg.chain_monitor = TestChainMonitor::new(
            Some(&chanmon_cfgs[i].chain_source),
            &chanmon_cfgs[i].tx_broadcaster,
            &chanmon_cfgs[i].logger,
            &chanmon_cfgs[i].fee_estimator,
            store,
            cfg.keys_manager,
        );
    }
    // What A runs on after the restore: declared before the managers and nodes, which
    // borrow them.
    let restored_store: TierStore;
    let restored_chain_monitor: TestChainMonitor<'_>;
    let node_chanmgrs = create_node_chanmgrs(2, &node_cfgs, &[None, None]);
    let restored_manager: TestChannelManager<'_, '_>;
    let mut nodes = create_network(2, &node_cfgs, &node_chanmgrs);
    let node_a_id = nodes[0].node.get_our_node_id();

    create_announced_chan_between_nodes(&nodes, 0, 1);
    send_payment(&nodes[0], &[&nodes[1]], 8_000_000);
    let after_first_payment = persisted_update_id(&store_a, &nodes[0]);
    assert!(after_first_payment > 0, "a payment updates the monitor");
    // A backup snapshot that will miss the next monitor updates (a stale copy).
    let stale_snapshot = MemoryBackend::named("stale-snapshot");
    rt.block_on(repair::copy_all(
        store_a.backup().expect("has a backup").as_ref(),
        &stale_snapshot,
        |key| !key.is_reserved(),
        |_, _| {},
    ))
    .expect("snapshots the backup");
    let (_, b_to_a_hash, ..) = send_payment(&nodes[1], &[&nodes[0]], 3_000_000);
    let latest_update = persisted_update_id(&store_a, &nodes[0]);
    assert!(latest_update > after_first_payment, "the second payment updates the monitor");

    // A persists its ChannelManager, as a node does on shutdown and after events.
    KVStoreSync::write(
        &store_a,
        CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
        CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
        CHANNEL_MANAGER_PERSISTENCE_KEY,
        nodes[0].node.encode(),
    )
    .expect("persists the manager");
    let report = rt.block_on(store_a.verify()).expect("verifies");
    assert!(report.is_consistent(), "primary == backup before the loss: {report:?}");
    assert_eq!(report.compared, 2, "the monitor and the manager: {report:?}");
    assert!(store_a.divergences().is_empty(), "{:?}", store_a.divergences());
    let before_loss = rt.block_on(contents(store_a.primary().as_ref()));
    let capacities_before = capacities(&nodes[0]);

    // A's primary disk is lost: its store and the journal beside it are gone. B notices the
    // disconnection.
    nodes[1].node.peer_disconnected(node_a_id);
    std::fs::remove_dir_all(&primary_dir).expect("deletes the primary");
    std::fs::remove_file(&journal).expect("deletes the journal");

    // A new, empty primary on a new disk, filled from the backup by the library's restore. A
    // fresh process opens the backup anew: nothing of the old store is reused.
    let new_primary_dir = dir.path().join("a-primary-restored");
    let new_journal = dir.path().join("a-primary-restored.journal");
    let backup = filesystem(&backup_dir, "a-backup");
    let new_primary = filesystem(&new_primary_dir, "a-primary-restored");
    let copied = rt
        .block_on(repair::restore(
            backup.as_ref(),
            new_primary.as_ref(),
            Scan::new(),
            false,
            &|_, _| {},
        ))
        .expect("restores");
    assert_eq!(copied.keys, before_loss.len(), "every durable key restored: {copied:?}");
    let restored = rt.block_on(contents(new_primary.as_ref()));
    assert_same(&restored, &before_loss, "the restored primary holds what the lost one held");

    // A stale backup, one that missed A's latest monitor update, is caught twice: the
    // library's `verify` against the restored primary names the monitor as different, and
    // LDK refuses to load the current ChannelManager against the stale monitor, which could
    // otherwise broadcast a revoked state.
    let stale_report = rt
        .block_on(repair::verify(new_primary.as_ref(), &stale_snapshot, |key| !key.is_reserved()))
        .expect("verifies the stale snapshot");
    assert!(!stale_report.is_consistent());
    assert_eq!(stale_report.different.len(), 1, "the monitor differs: {stale_report:?}");
    assert_eq!(stale_report.different[0].primary(), CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE);
    let stale_store = TierStore::builder(stale_snapshot).build().expect("valid configuration");
    let stale_monitors =
        read_channel_monitors(&stale_store, nodes[0].keys_manager, nodes[0].keys_manager)
            .expect("the stale monitor reads");
    assert_eq!(stale_monitors[0].1.get_latest_update_id(), after_first_payment);
    let manager_key = Key::new(
        CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
        CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
        CHANNEL_MANAGER_PERSISTENCE_KEY,
    )
    .expect("a valid key");
    let manager = rt.block_on(new_primary.read(&manager_key)).expect("the manager was restored");
    let refused = load_manager(&nodes[0], &manager, vec![&stale_monitors[0].1]);
    assert!(
        matches!(refused, Err(DecodeError::DangerousValue)),
        "LDK refuses a monitor older than its manager: {:?}",
        refused.err()
    );
    // A second restore would overwrite channel state: refused without `force`.
    let again = rt.block_on(repair::restore(
        backup.as_ref(),
        new_primary.as_ref(),
        Scan::new(),
        false,
        &|_, _| {},
    ));
    assert!(again.is_err(), "a restore into a non-empty primary is refused: {again:?}");

    // The restored primary and the backup form a store again. Its journal is new (the old
    // one was lost with the disk), so opening compares the tiers and finds nothing to copy.
    restored_store =
        rt.block_on(open_node_a_store(Arc::clone(&new_primary), Arc::clone(&backup), &new_journal));
    let resilver = restored_store.last_resilver().expect("a new journal resilvers the backup");
    assert_eq!((resilver.copied, resilver.removed), (0, 0), "{resilver:?}");
    assert_eq!(resilver.unchanged, before_loss.len() as u64, "{resilver:?}");
    let report = rt.block_on(restored_store.verify()).expect("verifies");
    assert!(report.is_consistent(), "restored primary == backup: {report:?}");
    assert_eq!(report.compared, before_loss.len(), "{report:?}");
    assert_eq!(persisted_update_id(&restored_store, &nodes[0]), latest_update);

    // Reload A from the restored store alone, as lightning's `reload_node!` does but with the
    // TierStore as the new chain monitor's persister.
    let manager_bytes = KVStoreSync::read(
        &restored_store,
        CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
        CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
        CHANNEL_MANAGER_PERSISTENCE_KEY,
    )
    .expect("the manager was restored");
    let monitor_bytes: Vec<Vec<u8>> = KVStoreSync::list(
        &restored_store,
        CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
        CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE,
    )
    .expect("lists monitors")
    .iter()
    .map(|key| {
        KVStoreSync::read(
            &restored_store,
            CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
            CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE,
            key,
        )
        .expect("reads a monitor")
    })
    .collect();
    assert_eq!(monitor_bytes.len(), 1, "one monitor restored");
    let monitors: Vec<&[u8]> = monitor_bytes.iter().map(Vec::as_slice).collect();
    restored_chain_monitor = TestChainMonitor::new(
        Some(nodes[0].chain_source),
        nodes[0].tx_broadcaster,
        nodes[0].logger,
        nodes[0].fee_estimator,
        &restored_store,
        nodes[0].keys_manager,
    );
    nodes[0].chain_monitor = &restored_chain_monitor;
    let config = nodes[0].node.get_current_config();
    restored_manager = _reload_node(&nodes[0], config, &manager_bytes, &monitors, None);
    nodes[0].node = &restored_manager;
    nodes[0].onion_messenger.set_offers_handler(&restored_manager);
    nodes[0].onion_messenger.set_async_payments_handler(&restored_manager);
    // LDK delivers PaymentClaimed at least once: the restored manager replays the claim of
    // B's payment from the monitor, and holds A's next monitor update until it is handled.
    let replayed = nodes[0].node.get_and_clear_pending_events();
    assert_eq!(replayed.len(), 1, "{replayed:?}");
    match &replayed[0] {
        Event::PaymentClaimed { payment_hash, amount_msat, .. } => {
            assert_eq!((*payment_hash, *amount_msat), (b_to_a_hash, 3_000_000));
        }
        other => panic!("unexpected event after the restore: {other:?}"),
    }
    let reloaded = the_channel(&nodes[0]);
    assert!(!reloaded.is_usable, "B is not connected yet");
    assert_eq!(reloaded.outbound_capacity_msat, capacities_before.0, "A's balance survived");

    reconnect_nodes(ReconnectArgs::new(&nodes[0], &nodes[1]));
    assert_eq!(capacities(&nodes[0]), capacities_before, "the channel is as it was");

    // Payments in both directions, persisted through the restored store.
    send_payment(&nodes[0], &[&nodes[1]], 2_000_000);
    let after_a_pays = persisted_update_id(&restored_store, &nodes[0]);
    assert!(after_a_pays > latest_update, "the restored store takes monitor updates");
    send_payment(&nodes[1], &[&nodes[0]], 5_000_000);
    let after_b_pays = persisted_update_id(&restored_store, &nodes[0]);
    assert!(after_b_pays > after_a_pays);
    let (outbound, inbound) = capacities(&nodes[0]);
    assert_eq!(outbound, capacities_before.0 + 3_000_000, "A sent 2,000 sat, received 5,000");
    assert_eq!(inbound + 3_000_000, capacities_before.1);
    // B's view of the channel agrees with A's.
    let b_channels = nodes[1].node.list_channels();
    assert_eq!(b_channels.len(), 1);
    assert!(b_channels[0].is_usable);

    let report = rt.block_on(restored_store.verify()).expect("verifies");
    assert!(report.is_consistent(), "primary == backup after the new payments: {report:?}");
    assert!(restored_store.divergences().is_empty(), "{:?}", restored_store.divergences());

    // The new state is on the restored primary's disk: a fresh reader of its directory sees
    // the monitor at its latest update.
    let reader = FilesystemStoreV2::new(new_primary_dir.clone()).expect("opens the directory");
    let on_disk = read_channel_monitors(&reader, nodes[0].keys_manager, nodes[0].keys_manager)
        .expect("monitors read back from disk");
    assert_eq!(on_disk.len(), 1);
    assert_eq!(on_disk[0].1.get_latest_update_id(), after_b_pays);
}
