# -*- coding: utf-8 -*-
# Copyright: (c) 2026, novaops.migration contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import hashlib

import pytest

from ansible_collections.novaops.migration.plugins.modules.image import ImageModule

CONTENT = b'QFI\xfb' + b'\x00' * 4096
OTHER_CONTENT = b'QFI\xfb' + b'\x01' * 4096


@pytest.fixture
def guest_file(tmp_path):
    path = tmp_path / 'guest.qcow2'
    path.write_bytes(CONTENT)
    return str(path)


def args(guest_file, **extra):
    values = dict(name='cirros', filename=guest_file, disk_format='qcow2', container_format='bare')
    values.update(extra)
    return values


def add_uploaded(cloud, content=CONTENT, **body):
    values = dict(name='cirros', disk_format='qcow2', container_format='bare', visibility='private',
                  checksum=hashlib.md5(content).hexdigest(), os_hash_algo='sha512',
                  os_hash_value=hashlib.sha512(content).hexdigest(), size=len(content))
    values.update(body)
    return cloud.image.add(**values)


def test_missing_file_fails_before_any_request(run_module, cloud, tmp_path):
    result = run_module(ImageModule, args(str(tmp_path / 'nope.qcow2')))
    assert result['failed']
    assert 'does not exist or is not a regular file; nothing was sent to the cloud' in result['msg']
    assert cloud.connect_kwargs is None


def test_present_needs_filename_and_disk_format(run_module):
    result = run_module(ImageModule, dict(name='cirros'))
    assert result['failed']
    assert 'filename' in result['msg'] and 'disk_format' in result['msg']


def test_check_mode_predicts_the_upload_without_doing_it(run_module, cloud, guest_file):
    result = run_module(ImageModule, args(guest_file, visibility='public'), check_mode=True, diff=True)
    assert result['changed'] is True
    assert result['actions'] == ['create']
    assert result['image']['checksum'] == hashlib.md5(CONTENT).hexdigest()
    assert result['diff']['before'] == {}
    assert result['diff']['after']['visibility'] == 'public'
    assert cloud.mutations() == []


def test_upload_then_second_run_is_unchanged(run_module, cloud, guest_file):
    first = run_module(ImageModule, args(guest_file, visibility='public', properties={'os_shutdown_timeout': 5}))
    assert first['changed'] is True
    assert first['actions'] == ['create']
    assert first['image']['status'] == 'active'
    assert first['image']['hash_value'] == hashlib.sha512(CONTENT).hexdigest()
    create_args, create_kwargs = cloud.call('image.create_image')
    assert create_args == ('cirros',)
    assert create_kwargs['md5'] == hashlib.md5(CONTENT).hexdigest()
    assert create_kwargs['allow_duplicates'] is True
    assert create_kwargs['validate_checksum'] is True
    assert create_kwargs['meta'] == {'visibility': 'public', 'os_shutdown_timeout': '5'}

    cloud.calls.clear()
    second = run_module(ImageModule, args(guest_file, visibility='public', properties={'os_shutdown_timeout': 5}))
    assert second['changed'] is False
    assert second['actions'] == []
    assert cloud.mutations() == []


def test_same_content_with_other_visibility_and_properties_is_updated(run_module, cloud, guest_file):
    image = add_uploaded(cloud, hw_disk_bus='virtio')
    requested = args(guest_file, visibility='public', properties={'hw_disk_bus': 'virtio', 'os_distro': 'cirros'})

    predicted = run_module(ImageModule, requested, check_mode=True, diff=True)
    assert predicted['changed'] is True
    assert predicted['actions'] == ['update']
    assert predicted['diff']['before']['visibility'] == 'private'
    assert predicted['diff']['after']['visibility'] == 'public'
    assert predicted['diff']['after']['properties']['os_distro'] == 'cirros'
    assert cloud.mutations() == []

    result = run_module(ImageModule, requested)
    assert result['changed'] is True
    assert cloud.call('image.update_image') == ((image.id,), {'visibility': 'public', 'os_distro': 'cirros'})
    assert result['image']['visibility'] == 'public'


def test_same_name_other_content_fails_with_both_checksums(run_module, cloud, guest_file):
    image = add_uploaded(cloud, content=OTHER_CONTENT)
    result = run_module(ImageModule, args(guest_file))
    assert result['failed']
    assert "image 'cirros' (%s) already exists with different content" % image.id in result['msg']
    assert hashlib.sha512(OTHER_CONTENT).hexdigest() in result['msg']
    assert hashlib.sha512(CONTENT).hexdigest() in result['msg']
    assert 'Set replace: true' in result['msg']
    assert cloud.mutations() == []


def test_replace_deletes_and_uploads_again(run_module, cloud, guest_file):
    old = add_uploaded(cloud, content=OTHER_CONTENT)
    predicted = run_module(ImageModule, args(guest_file, replace=True), check_mode=True)
    assert predicted['actions'] == ['delete', 'create']
    assert cloud.mutations() == []

    result = run_module(ImageModule, args(guest_file, replace=True))
    assert result['changed'] is True
    assert cloud.mutations() == ['image.delete_image', 'image.create_image']
    assert cloud.call('image.delete_image')[0] == (old.id,)
    assert result['image']['checksum'] == hashlib.md5(CONTENT).hexdigest()


def test_other_disk_format_counts_as_different_content(run_module, cloud, guest_file):
    add_uploaded(cloud, disk_format='raw')
    result = run_module(ImageModule, args(guest_file))
    assert result['failed']
    assert 'disk_format (glance raw, requested qcow2)' in result['msg']


def test_image_with_only_md5_is_compared_by_md5(run_module, cloud, guest_file):
    add_uploaded(cloud, os_hash_algo=None, os_hash_value=None)
    assert run_module(ImageModule, args(guest_file))['changed'] is False


def test_image_hashed_with_another_algorithm_is_compared_with_it(run_module, cloud, guest_file):
    add_uploaded(cloud, os_hash_algo='sha384', os_hash_value=hashlib.sha384(CONTENT).hexdigest())
    assert run_module(ImageModule, args(guest_file))['changed'] is False


def test_image_without_data_is_different_content(run_module, cloud, guest_file):
    add_uploaded(cloud, status='queued', checksum=None, os_hash_algo=None, os_hash_value=None)
    result = run_module(ImageModule, args(guest_file))
    assert 'the glance image has no data, status queued' in result['msg']


def test_two_images_with_the_name_are_ambiguous(run_module, cloud, guest_file):
    first = add_uploaded(cloud)
    second = add_uploaded(cloud)
    result = run_module(ImageModule, args(guest_file))
    assert result['msg'] == ("2 images are named 'cirros' (ids: %s, %s); names are not unique, "
                             "use the id of the one you mean." % (first.id, second.id))


def test_upload_that_ends_killed_fails(run_module, cloud, guest_file):
    cloud.image_status_after_upload = 'killed'
    result = run_module(ImageModule, args(guest_file))
    assert result['failed']
    assert result['msg'].startswith("image 'cirros' (")
    assert result['msg'].endswith('went to KILLED')


def test_absent_deletes_an_existing_image(run_module, cloud):
    image = add_uploaded(cloud)
    predicted = run_module(ImageModule, dict(name='cirros', state='absent'), check_mode=True, diff=True)
    assert predicted['changed'] is True
    assert predicted['diff']['after'] == {}
    assert cloud.mutations() == []

    result = run_module(ImageModule, dict(name='cirros', state='absent'))
    assert result['changed'] is True
    assert cloud.call('image.delete_image')[0] == (image.id,)


def test_absent_when_missing_is_unchanged(run_module, cloud):
    result = run_module(ImageModule, dict(name='cirros', state='absent'))
    assert result['changed'] is False
    assert cloud.mutations() == []
