# The Debian package: "cpack -G DEB" in the build tree (--config
# CPackConfig.cmake) makes kinesisd_<version>_<arch>.deb from what
# "cmake --install" installs with prefix /usr, plus the configuration
# /etc/kinesisd/kinesisd.yaml as a conffile. Its library dependencies are
# computed from the binary (dpkg-shlibdeps, from dpkg-dev); the maintainer
# scripts are in contrib/debian/.

# The configuration goes to /etc only in the package: a plain
# "cmake --install" must never replace an administrator's file.
install(FILES config/kinesisd.yaml DESTINATION /etc/kinesisd
        COMPONENT conffile EXCLUDE_FROM_ALL)

set(KINESISD_PACKAGE_MAINTAINER "kinesisd maintainers <kinesisd@localhost>" CACHE STRING
    "The Maintainer: field of the Debian package")

set(CPACK_PACKAGE_NAME kinesisd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Kinesis data stream reconciler")
set(CPACK_PACKAGE_DESCRIPTION "kinesisd keeps the Kinesis data streams declared in /etc/kinesisd real
in AWS and exports their ARNs into /var/lib/kinesisd for other services.
The service is installed disabled: declare the streams, hand it
credentials, then enable it.")
set(CPACK_PACKAGE_CONTACT "${KINESISD_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Everything "cmake --install" installs, and the conffile component.
set(CPACK_INSTALL_CMAKE_PROJECTS
    "${PROJECT_BINARY_DIR};kinesisd;ALL;/"
    "${PROJECT_BINARY_DIR};kinesisd;conffile;/")
set(CPACK_STRIP_FILES TRUE)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# HTTPS to AWS is verified against the system's CA certificates.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "ca-certificates")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/contrib/debian/conffiles
    ${PROJECT_SOURCE_DIR}/contrib/debian/postinst
    ${PROJECT_SOURCE_DIR}/contrib/debian/prerm
    ${PROJECT_SOURCE_DIR}/contrib/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

include(CPack)
