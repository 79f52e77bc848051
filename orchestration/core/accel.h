/* KVM or TCG. An openable /dev/kvm is not proof that KVM runs a Linux guest
 * (on some nested hosts the guest hangs in early boot: design.md), so the
 * decision is made by function: the first VM started under KVM must report
 * on its agent within ACCEL_KVM_PROOF_SECONDS, or it is restarted under TCG
 * and KVM is not tried again on this host until the next boot (the verdict
 * is kept in STATE_ROOT/accel). */
#ifndef BULKHEAD_ACCEL_H
#define BULKHEAD_ACCEL_H

#include <stddef.h>

#include "topology.h"

#define ACCEL_KVM_PROOF_SECONDS 30

enum accel_verdict {
	ACCEL_UNTRIED,          /* KVM opens; no guest has proved it yet */
	ACCEL_USE_KVM,          /* a guest booted under KVM here */
	ACCEL_USE_TCG,          /* no KVM, or a guest hung under it */
};

/* Whether /dev/kvm opens and speaks KVM API 12; reason says why not. */
int accel_kvm_opens(char *reason, size_t reason_len);

/* The verdict remembered in STATE_ROOT/accel, with its reason. */
enum accel_verdict accel_verdict_read(const char *state_root, char *reason,
				      size_t reason_len);
int accel_verdict_write(const char *state_root, enum accel_verdict v,
			const char *reason);

/* What to start the next VM with, given the request (--accel or the
 * file's accel): kvm and tcg are taken as asked (kvm fails when /dev/kvm
 * does not open); auto uses the remembered verdict, else KVM on probation
 * (ACCEL_UNTRIED) when /dev/kvm opens, else TCG. */
enum accel_verdict accel_choose(const char *state_root, enum topo_accel asked,
				char *reason, size_t reason_len);

#endif
