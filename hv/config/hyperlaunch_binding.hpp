// Names and numbers of Xen's Hyperlaunch device-tree binding
// (xen: docs/designs/launch/hyperlaunch-devicetree.rst), x86 multiboot flavour, as Relay
// reads it. docs/hyperlaunch.md says which parts Relay supports and why.
// Compiles freestanding and hosted.
#pragma once

#include "lib/types.hpp"

namespace relay::hyperlaunch {

// Where the binding lives: "The Hypervisor node" is /chosen/hypervisor.
inline constexpr const char* kChosenPath = "/chosen";
inline constexpr const char* kHypervisorNodeName = "hypervisor";

// `compatible` strings ("The Hypervisor node", "Config Node", "Domain Node", "Module node").
inline constexpr const char* kCompatibleHypervisorXen = "hypervisor,xen";
// Relay's own: marks a configuration that only Relay may boot (it may use relay,
// extensions that Xen would not understand).
inline constexpr const char* kCompatibleHypervisorRelay = "hypervisor,relay";
inline constexpr const char* kCompatibleConfig = "xen,config";
inline constexpr const char* kCompatibleDomain = "xen,domain";
inline constexpr const char* kCompatibleModulePrefix = "module,";
inline constexpr const char* kCompatibleMultibootModule = "multiboot,module";

// Property names of the binding.
inline constexpr const char* kPropertyCompatible = "compatible";
inline constexpr const char* kPropertyDomid = "domid";
inline constexpr const char* kPropertyPermissions = "permissions";
inline constexpr const char* kPropertyFunctions = "functions";
inline constexpr const char* kPropertyMode = "mode";
inline constexpr const char* kPropertyDomainUuid = "domain-uuid";
inline constexpr const char* kPropertyCpus = "cpus";
inline constexpr const char* kPropertyMemory = "memory";
inline constexpr const char* kPropertySecurityId = "security-id";
inline constexpr const char* kPropertyMultibootIndex = "mb-index";
inline constexpr const char* kPropertyModuleAddress = "module-addr";
inline constexpr const char* kPropertyBootargs = "bootargs";

// Domain node: `permissions` ("Domain Node", permissions).
inline constexpr u32 kPermissionControl = 1u << 0;
inline constexpr u32 kPermissionHardware = 1u << 1;

// Domain node: `functions` ("Domain Node", functions). XENSTORE and LEGACY_DOM0 sit at
// the top bits on purpose (the binding's note: they may be retired without a gap).
inline constexpr u32 kFunctionBoot = 1u << 0;
inline constexpr u32 kFunctionCrash = 1u << 1;
inline constexpr u32 kFunctionConsole = 1u << 2;
inline constexpr u32 kFunctionXenstore = 1u << 30;
inline constexpr u32 kFunctionLegacyDom0 = 1u << 31;

// Domain node: `mode` ("Domain Node", mode). Each bit picks one of two options:
//   PARAVIRTUALIZED      set: PV guest              clear: HVM container (PVH/HVM)
//   ENABLE_DEVICE_MODEL  set: HVM with device model clear: PVH (no device model)
//   LONG                 set: 64-bit guest          clear: 32-bit guest
// A Relay guest is an SVM+NPT container without a device model, entered in 64-bit mode:
// exactly kModeLong.
inline constexpr u32 kModeParavirtualized = 1u << 0;
inline constexpr u32 kModeEnableDeviceModel = 1u << 1;
inline constexpr u32 kModeLong = 1u << 2;
inline constexpr u32 kModeRelayGuest = kModeLong;

// Xen's DOMID_FIRST_RESERVED (xen/include/public/xen.h): ids from here up name special
// domains (DOMID_SELF, DOMID_IO, ...). Relay keeps the same numbering so that ids mean
// the same thing in both hypervisors.
inline constexpr u32 kDomidFirstReserved = 0x7FF0;

// `memory` is in KiB in two cells ("Domain Node", memory).
inline constexpr usize kMemoryCells = 2;
// The most memory a domain can have: guest-physical addresses are below 2^52 (AMD APM
// vol. 2 §15.25, nested paging), and the stream refuses a domain declaring more
// (migration_stream/stream_limits.hpp, kPhysicalAddressLimit; boot_stream.cpp asserts that
// the two agree), so a configuration that can be booted can also be restored.
inline constexpr u64 kMaxDomainMemoryKib = (u64{1} << 52) / 1024;

// A UUID is 16 bytes (RFC 4122); the binding's example shows 8, which Relay refuses.
inline constexpr usize kUuidLength = 16;

}  // namespace relay::hyperlaunch
