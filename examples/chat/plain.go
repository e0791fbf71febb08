package main

import (
	"context"
	"strings"

	"github.com/idemgen/idemgen/examples/chat/api"
	"github.com/idemgen/idemgen/runtime/client"
)

// SubmitPlainForm posts the /plain page's form and answers with the room page
// itself (no redirect). A reload of that answer makes the browser send the
// same form again, same hidden key: the runtime replays this page, stored
// when the message was posted, so the message is posted once. The replayed
// page's form carries the key made for the next message, as the first time.
func (c *Chat) SubmitPlainForm(ctx context.Context, req api.SubmitPlainFormRequestObject) (api.SubmitPlainFormResponseObject, error) {
	b := req.Body
	if strings.TrimSpace(b.User) == "" || strings.TrimSpace(b.Text) == "" {
		return api.SubmitPlainForm400JSONResponse{Body: problem(400, "invalid message", "user and text must not be empty")}, nil
	}
	p := c.board.Add(req.Room, b.User, b.Text, nil)
	html, err := render(plainPageTmpl, page{
		Room:   req.Room,
		Posts:  c.board.List(req.Room),
		Key:    client.NewKey(),
		User:   b.User,
		Notice: "Sent at " + p.PostedAt.Format("15:04:05") + ".",
	})
	if err != nil {
		return nil, err
	}
	return api.SubmitPlainForm200TextResponse{Body: string(html)}, nil
}
