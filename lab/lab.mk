# Lab targets, included by the top-level Makefile. See lab/README.md.
.PHONY: lab-up lab-down lab-clean lab-status lab-host-deps lab-restart-host lab-stop-host lab-start-host

# What the machine itself needs to build and run the lab (Debian packages).
LAB_HOST_PACKAGES = systemd-container mmdebstrap eatmydata qemu-utils busybox-static \
	syslinux syslinux-common mtools dosfstools cpio iproute2 openssh-client util-linux

lab-host-deps:
	@missing=$$(for p in $(LAB_HOST_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing on the machine: $$missing"; \
		apt-get update -qq -o DPkg::Lock::Timeout=600 && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 $$missing >/dev/null; \
	fi

lab-up: lab-host-deps
	lab/lab.sh up

lab-down:
	lab/lab.sh down

lab-clean:
	lab/lab.sh clean

lab-status:
	lab/lab.sh status

# Power-cycle one host as a reboot would (its disk is kept): make lab-restart-host HOST=compute1
lab-restart-host:
	@test -n "$(HOST)" || { echo "usage: make lab-restart-host HOST=compute1"; exit 2; }
	lab/lab.sh restart-host $(HOST)

# A host that dies (power pulled, its guests with it; the disk is kept), and its return:
#   make lab-stop-host HOST=compute1 ; make lab-start-host HOST=compute1
lab-stop-host:
	@test -n "$(HOST)" || { echo "usage: make lab-stop-host HOST=compute1"; exit 2; }
	lab/lab.sh stop-host $(HOST)

lab-start-host:
	@test -n "$(HOST)" || { echo "usage: make lab-start-host HOST=compute1"; exit 2; }
	lab/lab.sh start-host $(HOST)
