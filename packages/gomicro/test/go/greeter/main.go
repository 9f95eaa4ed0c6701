package main

import (
	natsbroker "github.com/go-micro/plugins/v4/broker/nats"
	etcd "github.com/go-micro/plugins/v4/registry/etcd"
	natsreg "github.com/go-micro/plugins/v4/registry/nats"
	micro "go-micro.dev/v4"
)

var _ = etcd.NewRegistry
var _ = natsreg.NewRegistry
var _ = natsbroker.NewBroker

func main() { _ = micro.NewService() }
